import type { BatchDetail } from "@batchgen/types";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { batchRow, startPipelineHarness, waitFor, type PipelineHarness } from "../support/pipeline.ts";

// Shutdown of an API process (the runner's drain): nothing waits out a retry back-off, nothing is
// lost, and the orchestrator does not spin empty steps while the process goes away.

let h: PipelineHarness;

beforeAll(async () => {
  h = await startPipelineHarness({
    simulated: { latencyMedianMs: 20, behaviour: (input) => (input.topic === "Always flaky" ? { fail: "transient" } : undefined) },
    settings: { runner: { chunkBudgetMs: 5_000, maxAttemptsPerItem: 3, retryBaseMs: 60_000, heartbeatMs: 500, leaseStaleMs: 30_000, resumeRecheckMs: 100, tickTimeoutMs: 10_000 } },
  });
});
afterAll(async () => {
  await h?.close();
});

async function orchestratorSteps(batchId: string): Promise<number> {
  // Every attempt of every step: a spin shows up as new steps or as attempts of the same one.
  const { rows } = await h.pool.query<{ n: number }>(
    `SELECT coalesce(sum(greatest(s.attempts, 1)), 0)::int AS n FROM engine.steps s JOIN engine.runs r ON r.id = s.run_id
     WHERE r.function_id LIKE '%batch-generate' AND r.event -> 'data' ->> 'batchId' = $1`,
    [batchId],
  );
  return rows[0]!.n;
}

describe("draining the runner on shutdown", () => {
  it("items waiting out a 60 s retry back-off go back to pending at once with their unspent attempt returned, and the orchestrator waits instead of spinning", async () => {
    const faculty = await h.createUser("faculty");
    const created = await h.api<BatchDetail>(faculty, "POST", "/api/v1/generation/batch", {
      topic: "Always flaky",
      questionType: "single_best_answer",
      difficulty: "easy",
      count: 2,
      concurrency: 2,
    });
    const batchId = created.body.data.id;
    // Both items failed once and now sleep 60 s before their second attempt.
    await waitFor("both items in their back-off", async () => {
      const { rows } = await h.pool.query<{ n: number }>("SELECT count(*)::int AS n FROM batch_items WHERE batch_id = $1 AND attempts = 2", [batchId]);
      return rows[0]!.n === 2 ? true : undefined;
    });

    const drainedAt = Date.now();
    h.pipeline.runner.drain();
    const back = await waitFor("the items back to pending", async () => {
      const row = await batchRow(h.pool, batchId);
      return row.generating_items === 0 ? row : undefined;
    }, 10_000, 20);
    expect(Date.now() - drainedAt).toBeLessThan(5_000);
    expect(back.status).toBe("running");
    const { rows } = await h.pool.query<{ status: string; attempts: number }>("SELECT status, attempts FROM batch_items WHERE batch_id = $1", [batchId]);
    expect(rows).toEqual([
      { status: "pending", attempts: 1 },
      { status: "pending", attempts: 1 },
    ]);

    // The chunk answered; the next step finds the process draining and is retried in 10 s, not at
    // once: once those have been recorded, nothing more runs for seconds.
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    const steps = await orchestratorSteps(batchId);
    await new Promise((resolve) => setTimeout(resolve, 3_000));
    expect(await orchestratorSteps(batchId)).toBe(steps);
  }, 60_000);
});
