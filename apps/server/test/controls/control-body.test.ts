import type { BatchControlRequest, BatchControlResponse, BatchDetail } from "@batchgen/types";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { batchRow, startPipelineHarness, type PipelineHarness, type TestUser } from "../support/pipeline.ts";

let h: PipelineHarness;
let owner: TestUser;
let batchId: string;

beforeAll(async () => {
  h = await startPipelineHarness({ simulated: { latencyMedianMs: 2_000 } });
  owner = await h.createUser("faculty");
  const created = await h.api<BatchDetail>(owner, "POST", "/api/v1/generation/batch", {
    topic: "Pharmacology",
    questionType: "single_best_answer",
    difficulty: "easy",
    count: 200,
    concurrency: 1,
  });
  batchId = created.body.data.id;
});
afterAll(async () => {
  await h?.close();
});

const controlEvents = async () =>
  (await h.pool.query<{ n: number }>("SELECT count(*)::int AS n FROM batch_control_events WHERE batch_id = $1", [batchId])).rows[0]!.n;

describe("the story's BatchControlRequest body on the control routes", () => {
  it("{ action } naming the path's action is accepted: pause, resume, then cancel", async () => {
    for (const [action, status] of [["pause", "paused"], ["resume", "running"], ["cancel", "cancelled"]] as const) {
      const body: BatchControlRequest = { action };
      const response = await h.api<BatchControlResponse>(owner, "POST", `/api/v1/generation/batch/${batchId}/${action}`, body);
      expect(response.status, action).toBe(200);
      expect(response.body.data).toMatchObject({ batchId, action, newStatus: status });
    }
  });

  it("an action that contradicts the path is 400 naming the field, and changes nothing", async () => {
    const other = await h.api<BatchDetail>(owner, "POST", "/api/v1/generation/batch", {
      topic: "Pharmacology",
      questionType: "single_best_answer",
      difficulty: "easy",
      count: 200,
      concurrency: 1,
    });
    batchId = other.body.data.id;
    const before = await controlEvents();
    for (const [path, action] of [["pause", "resume"], ["pause", "cancel"], ["cancel", "pause"], ["resume", "pause"]] as const) {
      const response = await h.api(owner, "POST", `/api/v1/generation/batch/${batchId}/${path}`, { action, reason: "mixed up" });
      expect(response.status, `${action} on /${path}`).toBe(400);
      expect(response.body.error).toMatchObject({ code: "VALIDATION_ERROR", details: { field: "action" } });
      expect(response.body.error!.message).toContain(`/${path}`);
    }
    const unknown = await h.api(owner, "POST", `/api/v1/generation/batch/${batchId}/pause`, { action: "stop" });
    expect(unknown.status).toBe(400);
    expect(unknown.body.error).toMatchObject({ code: "VALIDATION_ERROR", details: { field: "action" } });
    // "retry_failed" is a known action, but not the one of these paths.
    for (const path of ["pause", "resume", "cancel"] as const) {
      const response = await h.api(owner, "POST", `/api/v1/generation/batch/${batchId}/${path}`, { action: "retry_failed" });
      expect(response.status, `retry_failed on /${path}`).toBe(400);
      expect(response.body.error).toMatchObject({ code: "VALIDATION_ERROR", details: { field: "action" } });
      expect(response.body.error!.message).toBe(`action: "retry_failed" contradicts the path (/${path}); send "${path}" or leave it out`);
    }
    expect(await controlEvents()).toBe(before);
    expect((await batchRow(h.pool, batchId)).status).toBe("running");
  });

  it("on /retry-failed the body's action is \"retry_failed\"; another action is 400 naming the real path", async () => {
    // A finished batch with one item done and one failed (written directly: only its status matters here).
    const { rows } = await h.pool.query<{ id: string }>(
      `INSERT INTO batch_jobs (user_id, status, total_items, completed_items, failed_items, config, finished_at)
       VALUES ($1, 'completed_with_errors', 2, 1, 1, $2, now()) RETURNING id`,
      [owner.sub, JSON.stringify({ topic: "Pharmacology", questionType: "single_best_answer", difficulty: "easy", count: 2, concurrency: 1, generator: "simulated" })],
    );
    const id = rows[0]!.id;
    await h.pool.query(
      `INSERT INTO batch_items (batch_id, position, status, attempts, error, finished_at)
       VALUES ($1, 0, 'completed', 1, NULL, now()), ($1, 1, 'failed', 3, 'permanent failure', now())`,
      [id],
    );
    const eventsBefore = (await h.pool.query<{ n: number }>("SELECT count(*)::int AS n FROM batch_control_events WHERE batch_id = $1", [id])).rows[0]!.n;

    for (const action of ["pause", "resume", "cancel"] as const) {
      const response = await h.api(owner, "POST", `/api/v1/generation/batch/${id}/retry-failed`, { action });
      expect(response.status, `${action} on /retry-failed`).toBe(400);
      expect(response.body.error).toMatchObject({ code: "VALIDATION_ERROR", details: { field: "action" } });
      expect(response.body.error!.message).toBe(`action: "${action}" contradicts the path (/retry-failed); send "retry_failed" or leave it out`);
    }
    expect((await h.pool.query<{ n: number }>("SELECT count(*)::int AS n FROM batch_control_events WHERE batch_id = $1", [id])).rows[0]!.n).toBe(eventsBefore);

    const body: BatchControlRequest = { action: "retry_failed" };
    const retried = await h.api<BatchControlResponse>(owner, "POST", `/api/v1/generation/batch/${id}/retry-failed`, { ...body, reason: "flaky generator" });
    expect(retried.status, JSON.stringify(retried.body)).toBe(200);
    expect(retried.body.data).toMatchObject({ batchId: id, action: "retry_failed", previousStatus: "completed_with_errors", newStatus: "running" });
    await h.api(owner, "POST", `/api/v1/generation/batch/${id}/cancel`);
  });
});
