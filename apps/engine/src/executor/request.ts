import type { Pool } from "@batchgen/db";
import { finishRun } from "../store/events.ts";
import { engineError, type EngineEvent } from "../store/records.ts";
import { jobKeyOf, lockRun } from "../store/runs.ts";
import type { LeasedJob, Tx } from "../store/tx.ts";
import type { CallRequest } from "./call.ts";

/** A call to the app, with the function it calls. */
export type AppRequest = CallRequest & { readonly functionId: string };

/**
 * Reads what a call for `job` carries from the database: the run's event, its memos in stack
 * order, and the function's URL and attempts. Undefined when the run ended or its function is
 * not synced (any more); failUnsynced then settles the job.
 */
export async function readRequest(pool: Pool, job: LeasedJob): Promise<AppRequest | undefined> {
  const { rows } = await pool.query<{
    status: string;
    event: EngineEvent;
    req_version: number;
    disable_immediate: boolean;
    url: string | null;
    max_attempts: number | null;
    function_id: string;
    steps: { id: string; memo: unknown }[];
  }>({
    name: "engine_build_request",
    text: `SELECT r.status, r.event, r.req_version, r.disable_immediate, r.function_id, f.url, f.max_attempts,
       (SELECT coalesce(json_agg(json_build_object('id', s.step_id, 'memo', s.memo) ORDER BY s.position), '[]')
        FROM engine.steps s WHERE s.run_id = r.id AND s.memo IS NOT NULL) AS steps
     FROM engine.runs r LEFT JOIN engine.functions f ON f.id = r.function_id WHERE r.id = $1`,
    values: [job.run_id],
  });
  const run = rows[0];
  if (!run || run.status !== "running" || run.url === null || run.max_attempts === null) return undefined;
  return {
    url: run.url,
    functionId: run.function_id,
    jobId: jobKeyOf(job, run.function_id),
    stepId: job.step_id,
    runId: job.run_id,
    attempt: job.attempt,
    maxAttempts: run.max_attempts,
    event: run.event,
    steps: run.steps,
    version: run.req_version,
    disableImmediateExecution: run.disable_immediate,
  };
}

/** No request can be built for `job`: drops it, and fails its run if it is still running (its function is not synced). */
export async function failUnsynced(tx: Tx, job: LeasedJob, owner: number): Promise<void> {
  const locked = await lockRun(tx, job.run_id);
  await tx.client.query(`DELETE FROM engine.jobs WHERE id = $1 AND lease_owner = $2`, [job.id, owner]);
  if (locked?.status === "running") {
    await finishRun(tx, locked, {
      status: "failed",
      error: engineError(`function ${locked.function_id} is not synced with the engine`),
    });
  }
}
