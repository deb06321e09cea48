import type { Pool } from "@batchgen/db";
import { batchRow, waitFor } from "../support/pipeline.ts";
import { startProcessRig, type ProcessRig } from "../support/rig.ts";

export type FaultRig = ProcessRig;

/** Fast recovery settings so faults show up in seconds, not minutes (never the defaults). */
const FAULT_API_ENV: NodeJS.ProcessEnv = {
  SIMULATED_LATENCY_MS: "100",
  SIMULATED_LATENCY_JITTER: "0.3",
  SIMULATED_FAILURE_RATE: "0",
  BATCH_RUNNER_HEARTBEAT_MS: "500",
  BATCH_RUNNER_LEASE_STALE_MS: "2000",
  BATCH_CHUNK_BUDGET_MS: "5000",
  DATABASE_POOL_SIZE: "5",
};

export function startFaultRig(adminUrl: string, options: { ownCluster?: boolean } = {}): Promise<FaultRig> {
  return startProcessRig(adminUrl, { ...options, apiEnv: FAULT_API_ENV });
}

export async function createBatch(rig: FaultRig, count: number, concurrency = 5): Promise<string> {
  const created = await rig.call("POST", "/api/v1/generation/batch", { topic: "Microbiology", questionType: "single_best_answer", difficulty: "medium", count, concurrency });
  if (created.status !== 201 || !created.body.data) throw new Error(`create failed: ${created.status} ${JSON.stringify(created.body)}`);
  return created.body.data.id;
}

export async function generatingItems(pool: Pool, batchId: string): Promise<Set<number>> {
  const { rows } = await pool.query<{ position: number }>("SELECT position FROM batch_items WHERE batch_id = $1 AND status = 'generating'", [batchId]);
  return new Set(rows.map((row) => row.position));
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export type KillTarget = "api" | "engine" | "both";

export interface KillReport {
  readonly target: KillTarget;
  readonly atCompleted: number;
  readonly inFlight: number[];
}

/**
 * Kills the API, the engine or both with SIGKILL at random points of a
 * running batch, restarting them each time, then waits for the batch to
 * complete. Returns what was in flight at each kill.
 */
export async function killAtRandomPoints(rig: FaultRig, batchId: string, targets: readonly KillTarget[], random: () => number): Promise<KillReport[]> {
  const reports: KillReport[] = [];
  let lastCompleted = -1;
  for (const target of targets) {
    // Each kill lands at a new point: wait for a few more items to finish first.
    const wanted = lastCompleted + 1 + Math.floor(random() * 6);
    await waitFor("progress before the next kill", async () => {
      const current = await batchRow(rig.pool, batchId);
      return current.completed_items >= wanted || current.status !== "running" ? true : undefined;
    }, 120_000, 50);
    await sleep(random() * 400);
    const row = await batchRow(rig.pool, batchId);
    if (row.status !== "running") break;
    lastCompleted = row.completed_items;
    if (target !== "engine") await rig.procs.api.kill();
    if (target !== "api") await rig.procs.engine.kill();
    const inFlight = [...(await generatingItems(rig.pool, batchId))];
    reports.push({ target, atCompleted: row.completed_items, inFlight });
    await sleep(300);
    if (target !== "api") await rig.procs.engine.start();
    if (target !== "engine") await rig.procs.api.start();
  }
  return reports;
}

export async function waitForCompletion(rig: FaultRig, batchId: string, timeoutMs = 180_000) {
  return waitFor(`batch ${batchId} to complete`, async () => {
    const row = await batchRow(rig.pool, batchId);
    return row.status === "completed" || row.status === "completed_with_errors" || row.status === "failed" ? row : undefined;
  }, timeoutMs, 200);
}

export async function itemsGeneratedMoreThanOnce(pool: Pool, batchId: string): Promise<{ position: number; attempts: number }[]> {
  const { rows } = await pool.query<{ position: number; attempts: number }>(
    "SELECT position, attempts FROM batch_items WHERE batch_id = $1 AND attempts > 1 ORDER BY position",
    [batchId],
  );
  return rows;
}

export async function itemsWithoutResult(pool: Pool, batchId: string): Promise<number> {
  const { rows } = await pool.query<{ n: number }>("SELECT count(*)::int AS n FROM batch_items WHERE batch_id = $1 AND (status <> 'completed' OR result IS NULL)", [batchId]);
  return rows[0]!.n;
}

export function seeded(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    return state / 4294967296;
  };
}

/** Orchestrator runs of a batch the engine still has running. */
export async function liveOrchestratorRuns(pool: Pool, batchId: string): Promise<number> {
  const { rows } = await pool.query<{ n: number }>(
    `SELECT count(*)::int AS n FROM engine.runs
     WHERE function_id LIKE '%batch-generate' AND status = 'running' AND event -> 'data' ->> 'batchId' = $1`,
    [batchId],
  );
  return rows[0]!.n;
}

/** Samples the live orchestrator runs of a batch until stopped; returns the most seen at once. */
export function sampleLiveOrchestratorRuns(pool: Pool, batchId: string): { stop(): Promise<number> } {
  let max = 0;
  let stopped = false;
  const done = (async () => {
    while (!stopped) {
      // The database may be restarting under a fault: a failed sample is simply skipped.
      max = Math.max(max, await liveOrchestratorRuns(pool, batchId).catch(() => 0));
      await sleep(50);
    }
  })();
  return {
    async stop() {
      stopped = true;
      await done;
      return max;
    },
  };
}
