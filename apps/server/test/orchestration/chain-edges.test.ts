import type { BatchControlResponse, BatchDetail } from "@batchgen/types";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DEFAULT_PIPELINE_SETTINGS } from "../../src/container.ts";
import { batchRow, startPipelineHarness, waitFor, waitForStatus, type PipelineHarness, type TestUser } from "../support/pipeline.ts";

// The edges of a chain: a resume while the chunk past its budget lets a slow item finish, the
// hand-off of continue-as-new, and a run of an older epoch.

let h: PipelineHarness;
let owner: TestUser;
const SLOW = "Slow pharmacology";

beforeAll(async () => {
  h = await startPipelineHarness({
    simulated: { latencyMedianMs: 40, behaviour: (input) => (input.topic === SLOW && input.position === 0 ? { latencyMs: 5_000 } : undefined) },
    settings: {
      runner: { ...DEFAULT_PIPELINE_SETTINGS.runner, chunkBudgetMs: 1_000, retryBaseMs: 20 },
      generate: { ...DEFAULT_PIPELINE_SETTINGS.generate, maxLoopsPerRun: 2 },
    },
  });
  owner = await h.createUser("faculty");
});
afterAll(async () => {
  await h?.close();
});

const base = { questionType: "single_best_answer", difficulty: "medium" } as const;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function createBatch(topic: string, count: number, concurrency: number): Promise<string> {
  const created = await h.api<BatchDetail>(owner, "POST", "/api/v1/generation/batch", { ...base, topic, count, concurrency });
  expect(created.status).toBe(201);
  return created.body.data.id;
}

const control = (action: "pause" | "resume", batchId: string) =>
  h.api<BatchControlResponse>(owner, "POST", `/api/v1/generation/batch/${batchId}/${action}`);

async function runs(batchId: string) {
  const { rows } = await h.pool.query<{ status: string; epoch: number | null; continuation: number | null; output: { status?: string } | null }>(
    `SELECT status, (event -> 'data' ->> 'epoch')::int AS epoch, (event -> 'data' ->> 'continuation')::int AS continuation, output
     FROM engine.runs WHERE function_id LIKE '%batch-generate' AND event -> 'data' ->> 'batchId' = $1 ORDER BY created_at`,
    [batchId],
  );
  return rows;
}

describe("orchestrator chain edges (real Postgres, real engine)", () => {
  it("a resume while a chunk past its budget waits for a 5 s item starts the next item at once, without a new chain", async () => {
    const batchId = await createBatch(SLOW, 40, 2);
    // The chunk's 1 s budget runs out while the slow item (position 0, 5 s) is in flight: from then
    // on the chunk only lets it finish.
    await sleep(2_000);
    expect((await batchRow(h.pool, batchId)).generating_items).toBe(1);
    expect((await control("pause", batchId)).status).toBe(200);
    await sleep(300);
    const resumed = await control("resume", batchId);
    expect(resumed.status).toBe(200);
    const resumedAt = new Date(resumed.body.data.timestamp);
    const started = await waitFor("an item to start after the resume", async () => {
      const { rows } = await h.pool.query<{ t: Date | null }>("SELECT min(started_at) AS t FROM batch_items WHERE batch_id = $1 AND started_at >= $2", [
        batchId,
        resumedAt,
      ]);
      return rows[0]?.t ?? undefined;
    }, 10_000, 20);
    const slow = await h.pool.query<{ status: string }>("SELECT status FROM batch_items WHERE batch_id = $1 AND position = 0", [batchId]);
    // The slow item was still generating: the resume did not wait for it.
    expect(slow.rows[0]!.status).toBe("generating");
    expect(started.getTime() - resumedAt.getTime()).toBeLessThan(1_500);
    await waitForStatus(h.pool, batchId, ["completed"]);
    // Taken up by the running chain: the watchdog never started another one.
    expect(new Set((await runs(batchId)).map((run) => run.epoch))).toEqual(new Set([1]));
  }, 60_000);

  it("continue-as-new hands the chain from run to run with the same epoch: every run but the last ends 'continued', and the batch completes", async () => {
    const batchId = await createBatch("Renal continuation", 400, 3);
    await waitForStatus(h.pool, batchId, ["completed"], 90_000);
    await waitFor("the last run to end", async () => ((await runs(batchId)).every((run) => run.status !== "running") ? true : undefined), 10_000);
    const chain = await runs(batchId);
    expect(chain.length).toBeGreaterThan(1);
    expect(chain.map((run) => run.epoch)).toEqual(chain.map(() => 1));
    expect(chain.map((run) => run.continuation ?? 0)).toEqual(chain.map((_run, index) => index));
    expect(chain.slice(0, -1).map((run) => run.output?.status)).toEqual(chain.slice(0, -1).map(() => "continued"));
    expect(chain.at(-1)?.output?.status).toBe("completed");
    const { rows } = await h.pool.query<{ n: number }>("SELECT count(*)::int AS n FROM batch_items WHERE batch_id = $1 AND attempts <> 1", [batchId]);
    expect(rows[0]!.n).toBe(0);
  }, 120_000);

  it("a run of an older epoch (an event from before a restart) returns 'superseded' at its first step and touches nothing", async () => {
    const batchId = await createBatch("Stale chain", 6, 1);
    await waitForStatus(h.pool, batchId, ["completed"]);
    // A batch.started without an epoch, as the code before epochs sent it, for a batch now at epoch 1.
    await h.pipeline.inngest.send({ id: `legacy-${batchId}`, name: "batch.started", data: { batchId } });
    const legacy = await waitFor("the legacy run to end", async () => {
      const found = (await runs(batchId)).find((run) => run.epoch === null);
      return found && found.status !== "running" ? found : undefined;
    }, 15_000);
    expect(legacy).toMatchObject({ status: "completed", output: { status: "superseded" } });
  }, 60_000);
});
