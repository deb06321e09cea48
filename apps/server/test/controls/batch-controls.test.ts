import { randomUUID } from "node:crypto";
import type { BatchControlResponse, BatchDetail } from "@batchgen/types";
import { ACTION_TARGET_STATUS, VALID_STATUS_TRANSITIONS } from "@batchgen/types";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { batchRow, startPipelineHarness, waitFor, waitForStatus, type PipelineHarness, type TestUser } from "../support/pipeline.ts";

let h: PipelineHarness;
let owner: TestUser;

beforeAll(async () => {
  h = await startPipelineHarness({ simulated: { latencyMedianMs: 200, latencyJitter: 0.2 } });
  owner = await h.createUser("faculty", `owner-${randomUUID().slice(0, 6)}@msm.edu`);
});
afterAll(async () => {
  await h?.close();
});

const base = { topic: "Cardiology", questionType: "clinical_vignette", difficulty: "hard" } as const;

async function createBatch(count: number, concurrency: number, user = owner): Promise<string> {
  const created = await h.api<BatchDetail>(user, "POST", "/api/v1/generation/batch", { ...base, count, concurrency });
  expect(created.status).toBe(201);
  return created.body.data.id;
}

async function control(action: "pause" | "resume" | "cancel", batchId: string, user: TestUser | null = owner, headers: Record<string, string> = {}) {
  return h.api<BatchControlResponse>(user, "POST", `/api/v1/generation/batch/${batchId}/${action}`, undefined, headers);
}

interface ItemRow {
  id: string;
  position: number;
  status: string;
  attempts: number;
  result: unknown;
  started_at: Date | null;
  finished_at: Date | null;
}

async function items(batchId: string): Promise<ItemRow[]> {
  const { rows } = await h.pool.query<ItemRow>(
    "SELECT id, position, status, attempts, result, started_at, finished_at FROM batch_items WHERE batch_id = $1 ORDER BY position",
    [batchId],
  );
  return rows;
}

async function completedAtLeast(batchId: string, n: number) {
  await waitFor(`${n} completed items`, async () => ((await batchRow(h.pool, batchId)).completed_items >= n ? true : undefined));
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe("pause, resume and cancel end to end (real Postgres, real engine)", () => {
  let pausedBatch = "";

  it("pause: after the 200 no item becomes generating; the items in flight complete with results; inFlightItems drains to 0", async () => {
    pausedBatch = await createBatch(40, 4);
    await completedAtLeast(pausedBatch, 4);
    const paused = await control("pause", pausedBatch);
    expect(paused.status).toBe(200);
    expect(paused.body.data).toMatchObject({ batchId: pausedBatch, previousStatus: "running", newStatus: "paused", action: "pause" });

    const atPause = await items(pausedBatch);
    const inFlight = new Set(atPause.filter((item) => item.status === "generating").map((item) => item.id));
    const startedAtPause = atPause.filter((item) => item.status !== "pending").length;
    // Watch for a while: nothing new may start.
    for (let check = 0; check < 30; check += 1) {
      const now = await items(pausedBatch);
      for (const item of now) if (item.status === "generating") expect(inFlight.has(item.id)).toBe(true);
      expect(now.filter((item) => item.status !== "pending").length).toBe(startedAtPause);
      await sleep(100);
    }
    const after = await items(pausedBatch);
    for (const item of after.filter((row) => inFlight.has(row.id))) {
      expect(item.status).toBe("completed");
      expect(item.result).not.toBeNull();
    }
    const detail = await h.api<BatchDetail>(owner, "GET", `/api/v1/generation/batch/${pausedBatch}`);
    expect(detail.body.data).toMatchObject({ status: "paused", inFlightItems: 0, allowedActions: ["resume", "cancel"] });
  });

  it("resume: the remaining items complete in position order, none generated twice", async () => {
    const before = await items(pausedBatch);
    const pendingBefore = before.filter((item) => item.status === "pending").map((item) => item.position);
    expect(pendingBefore.length).toBeGreaterThan(0);
    const resumed = await control("resume", pausedBatch);
    expect(resumed.status).toBe(200);
    expect(resumed.body.data).toMatchObject({ previousStatus: "paused", newStatus: "running", action: "resume" });
    await waitForStatus(h.pool, pausedBatch, ["completed"]);

    const after = await items(pausedBatch);
    expect(after.every((item) => item.status === "completed" && item.attempts === 1 && item.result !== null)).toBe(true);
    // Claims take the lowest pending positions first: ordered by start time, positions only go up.
    const resumedItems = after.filter((item) => pendingBefore.includes(item.position));
    const byStart = [...resumedItems].sort((a, b) => a.started_at!.getTime() - b.started_at!.getTime() || a.position - b.position);
    expect(byStart.map((item) => item.position)).toEqual(pendingBefore);
  });

  async function expectCancelled(batchId: string, completedBefore: ItemRow[], inFlightAtCancel: Set<string>) {
    const done = await waitFor("the cancelled batch to be finalized", async () => {
      const row = await batchRow(h.pool, batchId);
      return row.finished_at ? row : undefined;
    });
    expect(done.status).toBe("cancelled");
    expect(done.generating_items).toBe(0);
    const after = await items(batchId);
    for (const before of completedBefore) {
      expect(after.find((item) => item.id === before.id)).toEqual(before);
    }
    for (const item of after.filter((row) => inFlightAtCancel.has(row.id))) {
      expect(item.status).toBe("completed");
      expect(item.result).not.toBeNull();
    }
    const untouched = after.filter((item) => !inFlightAtCancel.has(item.id) && !completedBefore.some((c) => c.id === item.id));
    expect(untouched.every((item) => item.status === "cancelled" && item.result === null)).toBe(true);
    expect(done.completed_items + done.cancelled_items + done.failed_items).toBe(after.length);
    const finished = await waitFor("batch.finished", async () => {
      const { rows } = await h.pool.query<{ body: { data: { batchId: string; status: string } } }>(
        "SELECT body FROM engine.events WHERE name = 'batch.finished' AND body -> 'data' ->> 'batchId' = $1",
        [batchId],
      );
      return rows[0];
    });
    expect(finished.body.data.status).toBe("cancelled");
  }

  it("cancel while running: pending items become cancelled, completed items unchanged, in-flight items complete, the batch ends cancelled and batch.finished is emitted", async () => {
    const batchId = await createBatch(30, 3);
    await completedAtLeast(batchId, 3);
    const cancelled = await control("cancel", batchId);
    expect(cancelled.status).toBe(200);
    expect(cancelled.body.data).toMatchObject({ previousStatus: "running", newStatus: "cancelled", action: "cancel" });
    const atCancel = await items(batchId);
    const completedBefore = atCancel.filter((item) => item.status === "completed");
    const inFlight = new Set(atCancel.filter((item) => item.status === "generating").map((item) => item.id));
    expect(atCancel.filter((item) => item.status === "pending")).toHaveLength(0);
    await expectCancelled(batchId, completedBefore, inFlight);
  });

  it("cancel while paused: the same, from paused", async () => {
    const batchId = await createBatch(30, 3);
    await completedAtLeast(batchId, 3);
    expect((await control("pause", batchId)).status).toBe(200);
    await waitForStatus(h.pool, batchId, ["paused"]);
    const atCancelBefore = await items(batchId);
    const cancelled = await control("cancel", batchId);
    expect(cancelled.body.data).toMatchObject({ previousStatus: "paused", newStatus: "cancelled" });
    await expectCancelled(batchId, atCancelBefore.filter((item) => item.status === "completed"), new Set());
  });

  it("every action on every terminal status and every invalid pair is a 409 with the allowed actions; non-owner and student 403; no token 401; unknown id 404", async () => {
    const statuses = ["running", "paused", "completed", "completed_with_errors", "failed", "cancelled"] as const;
    for (const status of statuses) {
      const { rows } = await h.pool.query<{ id: string }>(
        `INSERT INTO batch_jobs (user_id, status, total_items, config) VALUES ($1, $2, 1, $3) RETURNING id`,
        [owner.sub, status, JSON.stringify({ ...base, count: 1, concurrency: 1, generator: "simulated" })],
      );
      const batchId = rows[0]!.id;
      for (const action of ["pause", "resume", "cancel"] as const) {
        if (VALID_STATUS_TRANSITIONS[status]?.includes(action)) continue;
        const response = await control(action, batchId);
        expect(response.status, `${action} on ${status}`).toBe(409);
        expect(response.body.error).toMatchObject({
          code: "INVALID_TRANSITION",
          details: { currentStatus: status, action, allowedActions: VALID_STATUS_TRANSITIONS[status] ?? [] },
        });
      }
      expect((await batchRow(h.pool, batchId)).status).toBe(status);
    }

    const batchId = await createBatch(5, 1);
    const colleague = await h.createUser("faculty");
    const student = await h.createUser("student");
    for (const action of ["pause", "resume", "cancel"] as const) {
      expect((await control(action, batchId, colleague)).status).toBe(403);
      expect((await control(action, batchId, student)).status).toBe(403);
      expect((await control(action, batchId, null)).status).toBe(401);
      expect((await control(action, randomUUID())).status).toBe(404);
      expect((await control(action, "12345")).status).toBe(404);
    }
    const history = await h.api<{ items: unknown[] }>(owner, "GET", `/api/v1/generation/batch/${batchId}/history`);
    expect(history.body.data.items).toEqual([]);
    await waitForStatus(h.pool, batchId, ["completed"]);
  });

  it("pause then resume within a few milliseconds, 20 times at random points of a run: the batch always completes (no stranded batch)", async () => {
    const batchId = await createBatch(120, 5);
    for (let round = 0; round < 20; round += 1) {
      await sleep(50 + Math.random() * 150);
      const paused = await control("pause", batchId);
      if (paused.status !== 200) break; // it finished already
      await sleep(Math.random() * 5);
      expect((await control("resume", batchId)).status).toBe(200);
    }
    const done = await waitForStatus(h.pool, batchId, ["completed"], 90_000);
    expect(done.completed_items).toBe(120);
  });

  it("50 concurrent control requests on one batch: no 5xx, exactly one winner per conflicting transition, the history is a valid path", async () => {
    const batchId = await createBatch(200, 2);
    const actions = Array.from({ length: 50 }, (_, index) => (["pause", "resume", "cancel"] as const)[index % 3]!).sort(() => Math.random() - 0.5);
    const responses = await Promise.all(actions.map((action) => control(action, batchId)));
    for (const response of responses) expect([200, 409]).toContain(response.status);
    const winners = responses.filter((response) => response.status === 200).map((response) => response.body.data);

    const history = await h.api<{ items: { action: string; previousStatus: string; newStatus: string }[] }>(owner, "GET", `/api/v1/generation/batch/${batchId}/history`);
    const path = [...history.body.data.items].reverse();
    expect(path).toHaveLength(winners.length);
    let status = "running";
    for (const step of path) {
      expect(step.previousStatus).toBe(status);
      expect(VALID_STATUS_TRANSITIONS[status]).toContain(step.action);
      expect(step.newStatus).toBe(ACTION_TARGET_STATUS[step.action as "pause"]);
      status = step.newStatus;
    }
    // One cancel at most can win; after it nothing else can.
    expect(winners.filter((winner) => winner.action === "cancel").length).toBeLessThanOrEqual(1);
    expect((await batchRow(h.pool, batchId)).status).toBe(status);
    if (status !== "cancelled") await control("cancel", batchId);
    await waitFor("finished", async () => ((await batchRow(h.pool, batchId)).finished_at ? true : undefined));
  });

  it("a cancel racing the last item's completion ends in exactly one terminal status with every completed item kept", async () => {
    for (let round = 0; round < 4; round += 1) {
      const batchId = await createBatch(4, 4);
      await sleep(120 + round * 40 + Math.random() * 60);
      const cancel = await control("cancel", batchId);
      const done = await waitFor("a terminal, settled batch", async () => {
        const row = await batchRow(h.pool, batchId);
        return row.finished_at ? row : undefined;
      });
      if (cancel.status === 200) expect(done.status).toBe("cancelled");
      else {
        expect(cancel.status).toBe(409);
        expect(done.status).toBe("completed");
      }
      const rows = await items(batchId);
      expect(rows.filter((item) => item.status === "completed").every((item) => item.result !== null)).toBe(true);
      expect(done.completed_items).toBe(rows.filter((item) => item.status === "completed").length);
      expect(rows.every((item) => item.status === "completed" || item.status === "cancelled")).toBe(true);
    }
  });

  it("an idempotent retry of a pause returns the first 200 even after the batch moved on", async () => {
    const batchId = await createBatch(60, 2);
    const key = `pause-${randomUUID()}`;
    const first = await control("pause", batchId, owner, { "Idempotency-Key": key });
    expect(first.status).toBe(200);
    expect((await control("resume", batchId)).status).toBe(200);
    const retry = await control("pause", batchId, owner, { "Idempotency-Key": key });
    expect(retry.status).toBe(200);
    expect(retry.body).toEqual(first.body);
    expect((await batchRow(h.pool, batchId)).status).toBe("running");
    const conflict = await control("cancel", batchId, owner, { "Idempotency-Key": key });
    expect(conflict.status).toBe(422);
    expect(conflict.body.error?.code).toBe("IDEMPOTENCY_CONFLICT");
    expect((await batchRow(h.pool, batchId)).status).toBe("running");
    await control("cancel", batchId);
  });
});
