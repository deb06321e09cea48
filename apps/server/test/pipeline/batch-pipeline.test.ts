import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { generatedQuestionSchema, type BatchDetail } from "@batchgen/types";
import { batchRow, collectStream, startPipelineHarness, waitFor, waitForStatus, type PipelineHarness } from "../support/pipeline.ts";

let h: PipelineHarness;
const slowPositions = new Set<number>();
const transientOnce = new Set<number>();
const permanent = new Set<number>();

beforeAll(async () => {
  h = await startPipelineHarness({
    simulated: {
      behaviour: (input) => {
        if (slowPositions.has(input.position) && input.batchId === slowBatch) return { latencyMs: 3_000 };
        if (transientOnce.has(input.position) && input.attempt === 1 && input.batchId === flakyBatch) return { fail: "transient" };
        if (permanent.has(input.position) && input.batchId === flakyBatch) return { fail: "permanent" };
        if (input.batchId === doomedBatch) return { fail: "permanent" };
        return undefined;
      },
    },
  });
});
afterAll(async () => {
  await h?.close();
});

let slowBatch = "";
let flakyBatch = "";
let doomedBatch = "";

const config = { topic: "Renal physiology", questionType: "single_best_answer", difficulty: "medium" } as const;

describe("batch pipeline (real Postgres, real engine)", () => {
  it("a 20-item batch completes with 20 stored questions, and the stream delivers a snapshot and every progress change in order", async () => {
    const faculty = await h.createUser("faculty");
    const created = await h.api<BatchDetail>(faculty, "POST", "/api/v1/generation/batch", { ...config, count: 20, concurrency: 4 });
    expect(created.status).toBe(201);
    const batchId = created.body.data.id;
    expect(created.body.data).toMatchObject({ status: "running", totalItems: 20, pendingItems: 20, allowedActions: ["pause", "cancel"] });

    const events = await collectStream(`${h.apiUrl}/api/v1/generation/batch/${batchId}/stream`, faculty.token, (event) => event.event === "end");
    expect(events[0]?.event).toBe("snapshot");
    expect(events[events.length - 1]).toEqual({ event: "end", data: { type: "end", status: "completed" } });

    const progress = events.filter((event) => event.event === "progress").map((event) => event.data.batch as { completedItems: number; status: string });
    const snapshot = events[0]!.data.batch as { completedItems: number };
    const completedSeen = progress.map((p) => p.completedItems);
    // In commit order: never goes back, and ends at 20. One commit may store several items (the
    // runner stores what finished together in one tick), so a count can be skipped; every item
    // that completed after the snapshot still has its own item event.
    expect(completedSeen).toEqual([...completedSeen].sort((a, b) => a - b));
    expect(completedSeen.at(-1)).toBe(20);
    const completedItems = new Set(
      events
        .filter((event) => event.event === "item" && (event.data.item as { status: string }).status === "completed")
        .map((event) => (event.data.item as { id: string }).id),
    );
    expect(completedItems.size).toBeGreaterThanOrEqual(20 - snapshot.completedItems);
    expect(progress[progress.length - 1]?.status).toBe("completed");

    const { rows } = await h.pool.query<{ status: string; result: unknown }>("SELECT status, result FROM batch_items WHERE batch_id = $1", [batchId]);
    expect(rows).toHaveLength(20);
    for (const row of rows) {
      expect(row.status).toBe("completed");
      expect(generatedQuestionSchema.safeParse(row.result).success).toBe(true);
    }
    const detail = await h.api<BatchDetail>(faculty, "GET", `/api/v1/generation/batch/${batchId}`);
    expect(detail.body.data).toMatchObject({ status: "completed", completedItems: 20, inFlightItems: 0, allowedActions: [], finishedAt: expect.any(String) });
  });

  it("with concurrency 3 never has more than 3 items generating, and a slow item does not stop the other two slots", async () => {
    const faculty = await h.createUser("faculty");
    slowPositions.add(0);
    const created = await h.api<BatchDetail>(faculty, "POST", "/api/v1/generation/batch", { ...config, count: 30, concurrency: 3 });
    slowBatch = created.body.data.id;

    let maxGenerating = 0;
    let completedWhileSlow = 0;
    const sampler = (async () => {
      for (;;) {
        const { rows } = await h.pool.query<{ generating: string; done: string; slow: string }>(
          `SELECT count(*) FILTER (WHERE status = 'generating') AS generating,
                  count(*) FILTER (WHERE status = 'completed') AS done,
                  max(status) FILTER (WHERE position = 0) AS slow
           FROM batch_items WHERE batch_id = $1`,
          [slowBatch],
        );
        const row = rows[0]!;
        maxGenerating = Math.max(maxGenerating, Number(row.generating));
        if (row.slow === "generating") completedWhileSlow = Number(row.done);
        const batch = await batchRow(h.pool, slowBatch);
        if (batch.status === "completed") return;
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
    })();
    await waitForStatus(h.pool, slowBatch, ["completed"]);
    await sampler;
    expect(maxGenerating).toBeLessThanOrEqual(3);
    expect(maxGenerating).toBe(3);
    // The slow item takes 3 s; at ~50 ms per item the other two slots finish many items meanwhile.
    expect(completedWhileSlow).toBeGreaterThan(10);
  });

  it("retries transient failures; a permanent failure leaves completed_with_errors with the error on the item", async () => {
    const faculty = await h.createUser("faculty");
    transientOnce.add(1).add(2);
    permanent.add(4);
    const created = await h.api<BatchDetail>(faculty, "POST", "/api/v1/generation/batch", { ...config, count: 6, concurrency: 2 });
    flakyBatch = created.body.data.id;
    const done = await waitForStatus(h.pool, flakyBatch, ["completed_with_errors", "completed", "failed"]);
    expect(done).toMatchObject({ status: "completed_with_errors", completed_items: 5, failed_items: 1 });
    const { rows } = await h.pool.query<{ position: number; status: string; attempts: number; error: string | null }>(
      "SELECT position, status, attempts, error FROM batch_items WHERE batch_id = $1 ORDER BY position",
      [flakyBatch],
    );
    expect(rows[1]).toMatchObject({ status: "completed", attempts: 2 });
    expect(rows[2]).toMatchObject({ status: "completed", attempts: 2 });
    expect(rows[4]).toMatchObject({ status: "failed", attempts: 1, error: expect.stringMatching(/permanent/i) });
  });

  it("an all-failing batch ends failed", async () => {
    const faculty = await h.createUser("faculty");
    const created = await h.api<BatchDetail>(faculty, "POST", "/api/v1/generation/batch", { ...config, count: 4, concurrency: 2 });
    doomedBatch = created.body.data.id;
    // The behaviour hook only sees the id once the batch exists; items claimed before that succeed, so wait for either.
    const done = await waitFor("the doomed batch to end", async () => {
      const row = await batchRow(h.pool, doomedBatch);
      return ["failed", "completed_with_errors", "completed"].includes(row.status) ? row : undefined;
    });
    expect(done.status).toBe("failed");
    expect(done.failed_items).toBe(4);
  });

  it("a running batch whose orchestrator is gone (no runner, no change for five minutes) is restarted by the sweeper and completes", async () => {
    const faculty = await h.createUser("faculty");
    const { rows } = await h.pool.query<{ id: string }>(
      `INSERT INTO batch_jobs (user_id, status, total_items, config, started_at, updated_at, created_at)
       VALUES ($1, 'running', 3, $2, now() - interval '10 minutes', now() - interval '10 minutes', now() - interval '10 minutes')
       RETURNING id`,
      [faculty.sub, JSON.stringify({ ...config, count: 3, concurrency: 1, generator: "simulated" })],
    );
    const batchId = rows[0]!.id;
    await h.pool.query("INSERT INTO batch_items (batch_id, position) SELECT $1, n FROM generate_series(0, 2) AS n", [batchId]);
    const done = await waitForStatus(h.pool, batchId, ["completed"], 60_000);
    expect(done.completed_items).toBe(3);
  });
});
