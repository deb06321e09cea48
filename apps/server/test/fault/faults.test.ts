import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { batchRow, waitFor } from "../support/pipeline.ts";
import {
  createBatch,
  itemsGeneratedMoreThanOnce,
  itemsWithoutResult,
  killAtRandomPoints,
  liveOrchestratorRuns,
  sampleLiveOrchestratorRuns,
  seeded,
  startFaultRig,
  waitForCompletion,
  type FaultRig,
  type KillTarget,
} from "./scenarios.ts";

// The short variants; test/long/ repeats the kills five times each (pnpm test:long).
const KILLS: KillTarget[] = (process.env.FAULT_KILLS ?? "api,engine,both").split(",") as KillTarget[];
const ITEMS = Number(process.env.FAULT_ITEMS ?? 150);

describe("faults: real processes, SIGKILL, real Postgres", () => {
  let rig: FaultRig;
  beforeAll(async () => {
    rig = await startFaultRig(inject("pgAdminUrl"));
  }, 120_000);
  afterAll(async () => {
    await rig?.close();
  });

  it(`kill the API, the engine or both at random points of a running ${ITEMS}-item batch (${KILLS.join(", ")}): it completes, every item has a result, and any item generated twice was in flight at a kill`, async () => {
    const batchId = await createBatch(rig, ITEMS);
    const sampler = sampleLiveOrchestratorRuns(rig.pool, batchId);
    const reports = await killAtRandomPoints(rig, batchId, KILLS, seeded(Number(process.env.FAULT_SEED ?? Date.now())));
    const done = await waitForCompletion(rig, batchId);
    expect(done.status).toBe("completed");
    // Never more than one orchestrator run of the batch alive, through every kill; none once it ended.
    await waitFor("the orchestrator run to end", async () => ((await liveOrchestratorRuns(rig.pool, batchId)) === 0 ? true : undefined), 60_000);
    expect(await sampler.stop()).toBe(1);
    expect(await itemsWithoutResult(rig.pool, batchId)).toBe(0);
    const inFlightAtKills = new Set(reports.flatMap((report) => report.inFlight));
    const twice = await itemsGeneratedMoreThanOnce(rig.pool, batchId);
    console.log(`kills: ${JSON.stringify(reports)}; generated more than once: ${JSON.stringify(twice)}`);
    for (const item of twice) expect(inFlightAtKills.has(item.position), `item ${item.position} was regenerated`).toBe(true);
  }, 600_000);

  it("the engine unreachable: a control request commits and answers 200, and its event is delivered when the engine returns", async () => {
    const batchId = await createBatch(rig, 200, 2);
    await waitFor("some progress", async () => ((await batchRow(rig.pool, batchId)).completed_items >= 2 ? true : undefined));
    await rig.procs.engine.kill();
    const cancelled = await rig.call("POST", `/api/v1/generation/batch/${batchId}/cancel`);
    expect(cancelled.status).toBe(200);
    // The change is in the database at once: nothing pending is left to start.
    const { rows } = await rig.pool.query<{ n: number }>("SELECT count(*)::int AS n FROM batch_items WHERE batch_id = $1 AND status = 'pending'", [batchId]);
    expect(rows[0]!.n).toBe(0);
    const { rows: outbox } = await rig.pool.query<{ n: number }>("SELECT count(*)::int AS n FROM event_outbox WHERE name = 'batch.cancel' AND sent_at IS NULL");
    expect(outbox[0]!.n).toBe(1);
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    await rig.procs.engine.start();
    const finished = await waitFor("the cancel to be finalized", async () => {
      const row = await batchRow(rig.pool, batchId);
      return row.finished_at ? row : undefined;
    }, 60_000);
    expect(finished.status).toBe("cancelled");
    expect(finished.generating_items).toBe(0);
    // Every event, including the cancel, is delivered (the outbox may mark it a moment later).
    await waitFor("the outbox to drain", async () => {
      const { rows: unsent } = await rig.pool.query<{ n: number }>("SELECT count(*)::int AS n FROM event_outbox WHERE sent_at IS NULL");
      return unsent[0]!.n === 0 ? true : undefined;
    }, 30_000);
  }, 180_000);
});

describe("faults: PostgreSQL stopped for 10 seconds during a run", () => {
  let rig: FaultRig;
  beforeAll(async () => {
    rig = await startFaultRig(inject("pgAdminUrl"), { ownCluster: true });
  }, 120_000);
  afterAll(async () => {
    await rig?.close();
  });

  it("control requests answer 503 UNAVAILABLE (never a hang or a 500), /health reports it, and afterwards the batch completes with nothing lost or duplicated", async () => {
    const batchId = await createBatch(rig, 80, 4);
    await waitFor("some progress", async () => ((await batchRow(rig.pool, batchId)).completed_items >= 5 ? true : undefined));
    await rig.database!.pause();
    const outageStarted = Date.now();
    const statuses: number[] = [];
    const codes: string[] = [];
    while (Date.now() - outageStarted < 10_000) {
      const started = Date.now();
      const response = await rig.call("POST", `/api/v1/generation/batch/${batchId}/pause`);
      expect(Date.now() - started).toBeLessThan(10_000);
      statuses.push(response.status);
      codes.push(response.body.error?.code ?? "");
      const health = await fetch(`${rig.procs.apiUrl}/health`);
      expect(health.status).toBe(503);
      await new Promise((resolve) => setTimeout(resolve, 500));
    }
    expect(new Set(statuses)).toEqual(new Set([503]));
    expect(new Set(codes)).toEqual(new Set(["UNAVAILABLE"]));
    await rig.database!.start();
    await waitFor("health", async () => ((await fetch(`${rig.procs.apiUrl}/health`)).status === 200 ? true : undefined), 30_000);
    const done = await waitForCompletion(rig, batchId, 90_000).catch(async (error: unknown) => {
      const runs = await rig.pool.query("SELECT id, function_id, status, error FROM engine.runs ORDER BY created_at");
      const jobs = await rig.pool.query("SELECT run_id, kind, step_id, attempt, conn_errors, run_at, lease_owner, last_error FROM engine.jobs");
      console.log(JSON.stringify({ batch: await batchRow(rig.pool, batchId), runs: runs.rows, jobs: jobs.rows }, null, 1));
      console.log(rig.procs.engine.logs().slice(-4000));
      console.log(rig.procs.api.logs().slice(-4000));
      throw error;
    });
    expect(done.status).toBe("completed");
    expect(done.completed_items).toBe(80);
    expect(await itemsWithoutResult(rig.pool, batchId)).toBe(0);
    // No control request got through during the outage.
    const { rows } = await rig.pool.query<{ n: number }>("SELECT count(*)::int AS n FROM batch_control_events WHERE batch_id = $1", [batchId]);
    expect(rows[0]!.n).toBe(0);
  }, 300_000);
});
