import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { batchRow, waitFor } from "../support/pipeline.ts";
import { startProcessRig, type ProcessRig } from "../support/rig.ts";

let rig: ProcessRig;

beforeAll(async () => {
  rig = await startProcessRig(inject("pgAdminUrl"), {
    apiEnv: { SIMULATED_LATENCY_MS: "150", SIMULATED_FAILURE_RATE: "0" },
  });
}, 120_000);

afterAll(async () => {
  await rig?.close();
});

async function startedCount(batchId: string): Promise<number> {
  const { rows } = await rig.pool.query<{ n: string }>("SELECT count(*) AS n FROM batch_items WHERE batch_id = $1 AND status <> 'pending'", [batchId]);
  return Number(rows[0]!.n);
}

describe("a paused batch across restarts", () => {
  it("paused, then the API process and the engine are both killed with SIGKILL and restarted: still paused, nothing dispatched meanwhile, and a resume completes it", async () => {
    const created = await rig.call("POST", "/api/v1/generation/batch", { topic: "Pharmacology", questionType: "single_best_answer", difficulty: "medium", count: 40, concurrency: 3 });
    expect(created.status).toBe(201);
    const batchId = created.body.data!.id;
    await waitFor("some completed items", async () => ((await batchRow(rig.pool, batchId)).completed_items >= 3 ? true : undefined));

    expect((await rig.call("POST", `/api/v1/generation/batch/${batchId}/pause`)).status).toBe(200);
    await waitFor("the pause to drain", async () => ((await batchRow(rig.pool, batchId)).generating_items === 0 ? true : undefined));
    const startedAtPause = await startedCount(batchId);

    await rig.procs.api.kill();
    await rig.procs.engine.kill();
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    await rig.procs.engine.start();
    await rig.procs.api.start();

    // Give the restarted pair time to do anything they would do on start (re-sync, outbox, sweeps).
    await new Promise((resolve) => setTimeout(resolve, 6_000));
    expect((await batchRow(rig.pool, batchId)).status).toBe("paused");
    expect(await startedCount(batchId)).toBe(startedAtPause);

    expect((await rig.call("POST", `/api/v1/generation/batch/${batchId}/resume`)).status).toBe(200);
    const done = await waitFor("the batch to complete", async () => {
      const current = await batchRow(rig.pool, batchId);
      return current.status === "completed" ? current : undefined;
    }, 90_000);
    expect(done.completed_items).toBe(40);
    const { rows } = await rig.pool.query<{ n: string }>("SELECT count(*) AS n FROM batch_items WHERE batch_id = $1 AND (result IS NULL OR attempts <> 1)", [batchId]);
    expect(Number(rows[0]!.n)).toBe(0);
  }, 120_000);
});
