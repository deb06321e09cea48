import type { BatchDetail, BatchItem, BatchSummary } from "@batchgen/types";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startPipelineHarness, waitForStatus, type PipelineHarness, type TestUser } from "../support/pipeline.ts";

let h: PipelineHarness;
let owner: TestUser;

beforeAll(async () => {
  h = await startPipelineHarness({ simulated: { latencyMedianMs: 5 } });
  owner = await h.createUser("faculty");
});
afterAll(async () => {
  await h?.close();
});

const valid = { topic: "Endocrinology", questionType: "single_best_answer", difficulty: "easy", count: 3, concurrency: 2 };

async function rowCounts() {
  const { rows } = await h.pool.query<{ batches: string; items: string; outbox: string }>(
    "SELECT (SELECT count(*) FROM batch_jobs) AS batches, (SELECT count(*) FROM batch_items) AS items, (SELECT count(*) FROM event_outbox) AS outbox",
  );
  return rows[0];
}

describe("POST /api/v1/generation/batch — validation", () => {
  it.each([
    ["topic", { topic: "" }],
    ["topic", { topic: "x".repeat(201) }],
    ["topic", { topic: 42 }],
    ["questionType", { questionType: "essay" }],
    ["difficulty", { difficulty: "brutal" }],
    ["count", { count: 0 }],
    ["count", { count: 10_001 }],
    ["count", { count: 1.5 }],
    ["count", { count: "10" }],
    ["concurrency", { concurrency: 0 }],
    ["concurrency", { concurrency: 21 }],
    ["generator", { generator: "gpt-9" }],
    ["surprise", { surprise: true }],
  ])("a bad %s is a 400 VALIDATION_ERROR naming the field, and nothing is written", async (field, patch) => {
    const before = await rowCounts();
    const response = await h.api(owner, "POST", "/api/v1/generation/batch", { ...valid, ...patch });
    expect(response.status).toBe(400);
    expect(response.body.error).toMatchObject({ code: "VALIDATION_ERROR", details: { field } });
    expect(response.body.error?.message).toContain(field);
    expect(await rowCounts()).toEqual(before);
  });

  it("asking for a generator this server has not configured is a 400 naming generator, and nothing is written", async () => {
    const before = await rowCounts();
    const response = await h.api(owner, "POST", "/api/v1/generation/batch", { ...valid, generator: "openai" });
    expect(response.status).toBe(400);
    expect(response.body.error).toMatchObject({ code: "VALIDATION_ERROR", details: { field: "generator" } });
    expect(response.body.error?.message).toMatch(/not configured/);
    expect(await rowCounts()).toEqual(before);
  });

  it("a missing body or a JSON array is a 400, not a 500", async () => {
    expect((await h.api(owner, "POST", "/api/v1/generation/batch")).status).toBe(400);
    expect((await h.api(owner, "POST", "/api/v1/generation/batch", [valid])).status).toBe(400);
  });

  it("a student gets 403 and nothing is written", async () => {
    const student = await h.createUser("student");
    const before = await rowCounts();
    const response = await h.api(student, "POST", "/api/v1/generation/batch", valid);
    expect(response.status).toBe(403);
    expect(response.body.error?.code).toBe("FORBIDDEN");
    expect(await rowCounts()).toEqual(before);
  });
});

describe("reading batches", () => {
  it("lists the caller's own batches newest first, paginated, and never another's", async () => {
    const mine: string[] = [];
    for (let index = 0; index < 5; index += 1) {
      const created = await h.api<BatchDetail>(owner, "POST", "/api/v1/generation/batch", { ...valid, topic: `Topic ${index}` });
      mine.unshift(created.body.data.id);
    }
    const other = await h.createUser("faculty");
    await h.api(other, "POST", "/api/v1/generation/batch", valid);

    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const page: { body: { data: { items: BatchSummary[]; nextCursor: string | null } } } = await h.api(owner, "GET", `/api/v1/generation/batch?limit=2${cursor ? `&cursor=${cursor}` : ""}`);
      expect(page.body.data.items.length).toBeLessThanOrEqual(2);
      seen.push(...page.body.data.items.map((item) => item.id));
      cursor = page.body.data.nextCursor;
    } while (cursor);
    expect(seen.slice(0, 5)).toEqual(mine);
    const bad = await h.api(owner, "GET", "/api/v1/generation/batch?cursor=garbage");
    expect(bad.status).toBe(400);
    expect((await h.api(owner, "GET", "/api/v1/generation/batch?limit=500")).status).toBe(400);
  });

  it("pagination keeps batches created within the same millisecond (the cursor keeps microseconds)", async () => {
    const user = await h.createUser("faculty");
    const config = JSON.stringify({ ...valid, generator: "simulated" });
    await h.pool.query(
      `INSERT INTO batch_jobs (user_id, status, total_items, config, created_at)
       SELECT $1, 'completed', 3, $2, timestamptz '2026-11-30 10:00:00.123456+00' - n * interval '1 microsecond'
       FROM generate_series(0, 2) AS n`,
      [user.sub, config],
    );
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const page: { body: { data: { items: BatchSummary[]; nextCursor: string | null } } } = await h.api(user, "GET", `/api/v1/generation/batch?limit=1${cursor ? `&cursor=${cursor}` : ""}`);
      seen.push(...page.body.data.items.map((item) => item.id));
      cursor = page.body.data.nextCursor;
    } while (cursor);
    expect(new Set(seen).size).toBe(3);
  });

  it("one batch: owner reads it with counts, another faculty member gets 403, a missing or malformed id 404", async () => {
    const created = await h.api<BatchDetail>(owner, "POST", "/api/v1/generation/batch", { ...valid, count: 4 });
    const batchId = created.body.data.id;
    await waitForStatus(h.pool, batchId, ["completed"]);
    const detail = await h.api<BatchDetail>(owner, "GET", `/api/v1/generation/batch/${batchId}`);
    expect(detail.body.data).toMatchObject({ id: batchId, status: "completed", totalItems: 4, completedItems: 4, inFlightItems: 0, pendingItems: 0, allowedActions: [], eta: null });

    const colleague = await h.createUser("faculty");
    for (const path of ["", "/items", "/history", "/stream"]) {
      const denied = await h.api(colleague, "GET", `/api/v1/generation/batch/${batchId}${path}`);
      expect(denied.status, path).toBe(403);
      expect(denied.body.data).toBeNull();
      expect((await h.api(owner, "GET", `/api/v1/generation/batch/00000000-0000-4000-8000-000000000000${path}`)).status).toBe(404);
      expect((await h.api(owner, "GET", `/api/v1/generation/batch/not-an-id${path}`)).status).toBe(404);
    }
  });

  it("items come with their generated questions, by position, paginated and filterable by status", async () => {
    const created = await h.api<BatchDetail>(owner, "POST", "/api/v1/generation/batch", { ...valid, count: 5 });
    const batchId = created.body.data.id;
    await waitForStatus(h.pool, batchId, ["completed"]);
    const first = await h.api<{ items: BatchItem[]; nextCursor: string | null }>(owner, "GET", `/api/v1/generation/batch/${batchId}/items?limit=3`);
    expect(first.body.data.items.map((item) => item.position)).toEqual([0, 1, 2]);
    expect(first.body.data.items[0]?.result?.options).toHaveLength(5);
    const rest = await h.api<{ items: BatchItem[]; nextCursor: string | null }>(owner, "GET", `/api/v1/generation/batch/${batchId}/items?limit=3&cursor=${first.body.data.nextCursor}`);
    expect(rest.body.data.items.map((item) => item.position)).toEqual([3, 4]);
    expect(rest.body.data.nextCursor).toBeNull();
    const failed = await h.api<{ items: BatchItem[] }>(owner, "GET", `/api/v1/generation/batch/${batchId}/items?status=failed`);
    expect(failed.body.data.items).toEqual([]);
    expect((await h.api(owner, "GET", `/api/v1/generation/batch/${batchId}/items?status=weird`)).status).toBe(400);
  });

  it("an unknown query parameter is a 400 naming it, not a filter silently dropped (status[]=, a typo, on items, the list and the download)", async () => {
    const created = await h.api<BatchDetail>(owner, "POST", "/api/v1/generation/batch", { ...valid, count: 1 });
    const batchId = created.body.data.id;
    for (const path of [
      `/api/v1/generation/batch/${batchId}/items?status[]=pending`,
      `/api/v1/generation/batch/${batchId}/items?stauts=failed`,
      "/api/v1/generation/batch?limit=5&page=2",
      `/api/v1/generation/batch/${batchId}/questions?format=csv&fromat=json`,
    ]) {
      const answer = await h.api(owner, "GET", path);
      expect(answer.status, path).toBe(400);
      expect(answer.body.error?.code, path).toBe("VALIDATION_ERROR");
      const unknown = [...new URLSearchParams(path.split("?")[1]).keys()].find((key) => !["limit", "format"].includes(key))!;
      expect(answer.body.error?.message, path).toContain(unknown);
    }
  });
});
