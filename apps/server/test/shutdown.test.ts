import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { batchRow, waitFor } from "./support/pipeline.ts";
import { startProcessRig, type ProcessRig } from "./support/rig.ts";

let rig: ProcessRig;

beforeAll(async () => {
  rig = await startProcessRig(inject("pgAdminUrl"), {
    apiEnv: { SIMULATED_LATENCY_MS: "600", SIMULATED_LATENCY_JITTER: "0.1", SIMULATED_FAILURE_RATE: "0" },
  });
}, 120_000);

afterAll(async () => {
  await rig?.close();
});

describe("graceful shutdown of the API", () => {
  it("SIGTERM: live streams end, items in flight are stored (not redone), the process exits 0 well before the force timeout; a restarted API finishes the batch", async () => {
    const { api, apiUrl } = rig.procs;
    const created = await rig.call("POST", "/api/v1/generation/batch", { topic: "Haematology", questionType: "single_best_answer", difficulty: "easy", count: 30, concurrency: 3 });
    const batchId = created.body.data!.id;
    await waitFor("items in flight", async () => ((await batchRow(rig.pool, batchId)).generating_items === 3 ? true : undefined));

    const stream = await fetch(`${apiUrl}/api/v1/generation/batch/${batchId}/stream`, { headers: { Authorization: `Bearer ${rig.token}` } });
    expect(stream.status).toBe(200);
    const streamEnded = (async () => {
      for await (const _chunk of stream.body as unknown as AsyncIterable<Uint8Array>) {
        // drain until the server ends it
      }
      return Date.now();
    })();

    const started = Date.now();
    await api.stop();
    expect(api.exitCode).toBe(0);
    expect(Date.now() - started).toBeLessThan(8_000);
    expect((await streamEnded) - started).toBeLessThan(8_000);

    expect((await batchRow(rig.pool, batchId)).generating_items).toBe(0);
    const redone = async () =>
      (await rig.pool.query<{ n: number }>("SELECT count(*)::int AS n FROM batch_items WHERE batch_id = $1 AND attempts > 1", [batchId])).rows[0]!.n;
    expect(await redone()).toBe(0);

    await api.start();
    const done = await waitFor("the batch to complete on the restarted API", async () => {
      const row = await batchRow(rig.pool, batchId);
      return row.status === "completed" ? row : undefined;
    }, 120_000);
    expect(done.completed_items).toBe(30);
    expect(await redone()).toBe(0);
  }, 180_000);
});
