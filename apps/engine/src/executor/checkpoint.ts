import type { Pool } from "@batchgen/db";
import { describeRun } from "../store/runs.ts";
import type { CommittedMemo } from "../store/tx.ts";

/**
 * The server side of the SDK's async checkpointing (SDK: `checkpointStepsAsync` in api/api.js;
 * Inngest: pkg/api/apiv1/checkpoint.go CheckpointAsyncSteps and
 * pkg/execution/checkpoint/checkpoint.go checkpointAsyncSteps). A discovery request carries
 * ctx.fn_id and ctx.qi_id; the SDK then runs consecutive steps inside that one request and posts
 * each result here before it goes on. Each post is committed before it is answered, so a
 * checkpointed step is as durable as one answered in a 206.
 */

/** The queue item id sent as ctx.qi_id: the job and the engine process that holds its lease. */
export function queueItemId(jobId: string, owner: number): string {
  return `${jobId}.${owner}`;
}

export class CheckpointError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

interface CheckpointStep {
  readonly id?: unknown;
  readonly op?: unknown;
  readonly name?: unknown;
  readonly displayName?: unknown;
  readonly data?: unknown;
}

export interface CheckpointBody {
  readonly run_id?: unknown;
  readonly qi_id?: unknown;
  readonly steps?: unknown;
}

/**
 * Stores the steps of one checkpoint post, in one round trip (engine.apply_checkpoint, its own
 * transaction, on the worker's asynchronously committing pool like every step result). Answers as
 * Inngest does: 409 for a stale dispatch (the request's lease is no longer live: the job was
 * reclaimed or the run ended), 413 for a step output over the limit, 400 for anything but StepRun
 * ops (the SDK then falls back to answering the steps in its response). As on Inngest, the
 * request's attempts start again from 0 after a successful checkpoint (`ResetAttemptsByJobID`).
 */
export async function applyCheckpoint(
  pool: Pool,
  log: (line: string) => void,
  runId: string,
  body: CheckpointBody,
  maxStepOutputBytes: number,
): Promise<CommittedMemo[]> {
  const [jobId, owner] = typeof body.qi_id === "string" ? body.qi_id.split(".") : [];
  // A job id is a bigint and an owner an int4 (any positive one: owners are random): a value out of
  // their range is malformed, not a database error.
  const fits = (digits: string | undefined, max: bigint) => digits !== undefined && /^\d{1,19}$/.test(digits) && BigInt(digits) <= max;
  if (!fits(jobId, 9_223_372_036_854_775_807n) || !fits(owner, 2_147_483_647n)) throw new CheckpointError(400, "qi_id is missing or malformed");
  if (!Array.isArray(body.steps)) throw new CheckpointError(400, "steps must be a list");
  if (body.steps.some((step) => typeof step !== "object" || step === null)) throw new CheckpointError(400, "every step must be an object");
  const steps: { id: string; name: string; memo: { data: unknown } }[] = [];
  for (const step of body.steps as CheckpointStep[]) {
    if (step.op !== "StepRun") throw new CheckpointError(400, `cannot checkpoint opcode: ${String(step.op)}`);
    if (typeof step.id !== "string" || !step.id) throw new CheckpointError(400, "a step has no id");
    const name = typeof step.displayName === "string" ? step.displayName : typeof step.name === "string" ? step.name : step.id;
    const memo = { data: step.data ?? null };
    const size = Buffer.byteLength(JSON.stringify(memo.data));
    if (size > maxStepOutputBytes) {
      throw new CheckpointError(413, `step "${name}" output too large: ${size} bytes, over the ${maxStepOutputBytes}-byte limit`);
    }
    steps.push({ id: step.id, name, memo });
  }
  const { rows } = await pool.query<{ r: { outcome: string; status?: string; function_id: string; stored?: { id: string; position: number; name: string }[] } }>({
    name: "engine_apply_checkpoint",
    text: "SELECT engine.apply_checkpoint($1, $2, $3, $4) AS r",
    values: [runId, jobId, Number(owner), JSON.stringify(steps)],
  });
  const result = rows[0]?.r;
  if (!result || result.outcome !== "applied") {
    throw new CheckpointError(409, `stale dispatch: run ${runId} is ${result?.status ?? "unknown"} or job ${jobId} is no longer leased to this request`);
  }
  const memos: CommittedMemo[] = [];
  for (const stored of result.stored ?? []) {
    const memo = steps.find((step) => step.id === stored.id)?.memo;
    memos.push({ runId, position: stored.position, id: stored.id, memo });
    log(`${describeRun({ id: runId, function_id: result.function_id })} step "${stored.name}" completed`);
  }
  return memos;
}
