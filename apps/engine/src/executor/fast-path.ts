import type { Pool } from "@batchgen/db";
import { describeRun } from "../store/runs.ts";
import type { CommittedMemo, LeasedJob } from "../store/tx.ts";
import type { CallResult } from "./call.ts";
import type { HandlerSettings } from "./handle.ts";

interface FastPathRow {
  readonly outcome: "applied" | "dropped";
  /** The next call was queued behind a concurrency limit instead of leased here. */
  readonly queued?: boolean;
  readonly position: number | null;
  readonly job: LeasedJob | null;
  readonly event: unknown;
  readonly function_id: string;
  readonly req_version: number;
  readonly disable_immediate: boolean;
  readonly stack_size: number;
}

export interface FastPathOutcome {
  readonly leased: LeasedJob[];
  readonly memos: CommittedMemo[];
  readonly wake: boolean;
}

/**
 * Applies the most common answer, one StepRun, in a single round trip through
 * engine.apply_step_run (see its migration), which is its own transaction. Returns undefined when
 * the answer or the run needs the general path; nothing has changed in that case.
 */
export async function applyStepRunFast(
  pool: Pool,
  job: LeasedJob,
  result: CallResult,
  settings: HandlerSettings,
  log: (line: string) => void,
): Promise<FastPathOutcome | undefined> {
  if (result.kind !== "ops" || result.ops.length !== 1) return undefined;
  const op = result.ops[0];
  if (!op || op.op !== "StepRun") return undefined;
  const memo = { data: op.data ?? null };
  const memoText = JSON.stringify(memo);
  // The general path fails the run with a clear message when a step output is too large.
  if (Buffer.byteLength(memoText) > settings.maxStepOutputBytes) return undefined;
  const name = op.displayName ?? op.name ?? op.id;
  const { rows } = await pool.query<{ r: FastPathRow | null }>({
    name: "engine_apply_step_run_v2",
    text: "SELECT engine.apply_step_run($1, $2, $3, $4, $5, $6, $7, $8) AS r",
    values: [job.id, settings.owner, job.run_id, op.id, name, memoText, result.version ?? null, job.attempt],
  });
  const row = rows[0]?.r;
  if (!row) return undefined;
  if (row.outcome === "dropped") return { leased: [], memos: [], wake: false };
  const memos: CommittedMemo[] = [];
  if (row.position !== null) {
    memos.push({ runId: job.run_id, position: row.position, id: op.id, memo });
    log(`${describeRun({ id: job.run_id, function_id: row.function_id })} step "${name}" completed`);
  }
  const leased: LeasedJob[] = [];
  if (row.job) {
    leased.push({
      ...row.job,
      hint: {
        event: row.event,
        functionId: row.function_id,
        reqVersion: row.req_version,
        disableImmediate: row.disable_immediate,
        stackSize: row.stack_size,
      },
    });
  }
  return { leased, memos, wake: row.queued === true };
}
