import { ulid } from "ulid";
import { evaluateExpression } from "../match/cel.ts";
import type { FunctionDefinition } from "./functions.ts";
import type { EngineEvent, RunRow, SerializedError } from "./records.ts";
import { LEASE_LOCK_NAMESPACE, type LeasedJob, type Tx } from "./tx.ts";

const shortId = (runId: string): string => runId.slice(-8);

export function describeRun(run: Pick<RunRow, "id" | "function_id">): string {
  return `run ${shortId(run.id)} (${run.function_id})`;
}

/** Locks the run row: every change to a run happens under this lock, so its memo stays consistent. */
export async function lockRun(tx: Tx, runId: string): Promise<RunRow | undefined> {
  const { rows } = await tx.client.query<RunRow>(`SELECT * FROM engine.runs WHERE id = $1 FOR UPDATE`, [runId]);
  return rows[0];
}

/** Concurrency keys are evaluated once, from the triggering event, when the run starts. */
function concurrencyKeys(fn: FunctionDefinition, event: EngineEvent): { keys: string[]; limits: number[] } {
  const keys: string[] = [];
  const limits: number[] = [];
  for (const entry of fn.concurrency) {
    const value = entry.key ? evaluateExpression(entry.key, { event }) : "";
    const text =
      typeof value === "string"
        ? value
        : value === undefined
          ? ""
          : JSON.stringify(value, (_k, v: unknown) => (typeof v === "bigint" ? v.toString() : v));
    keys.push(`${fn.id}|${entry.key ?? ""}|${text}`);
    limits.push(entry.limit);
  }
  return { keys, limits };
}

/**
 * The keys Inngest gives its queue items (pkg/execution/executor/executor.go: `queueKey` in
 * schedule, `maybeEnqueueDiscoveryStep`, `handleGeneratorStepPlanned`, `Resume`, `handleStepFailed`),
 * with the function's slug where Inngest has the function's UUID and without its xxhash of the
 * run key. A job keeps its key across retries, so ctx.jobId is stable for one request's attempts.
 */
export const jobKeys = {
  /** The run's first request: the function and the run's idempotency key (the event's id). */
  start: (functionId: string, eventId: string): string => `${functionId}:${eventId}`,
  /** The request after `stepId` was handled (a step result, a sleep, a wait, a failure …). */
  after: (run: Pick<RunRow, "id" | "function_id">, stepId: string, suffix: "" | "-plan" | "-event" | "-timeout" | "-failure" = ""): string =>
    `${run.function_id}:${run.id}-${stepId}${suffix}`,
  /** The one discovery after a set of parallel steps, whichever of them finished last. */
  coalesced: (runId: string, stepId: string): string => `${runId}-${stepId}-discover`,
};

/** The key of a job queued before jobs had keys (or by an older engine). */
export function jobKeyOf(job: Pick<LeasedJob, "job_key" | "step_id" | "run_id">, functionId: string): string {
  return job.job_key ?? `${functionId}:${job.run_id}-${job.step_id || "step"}`;
}

/**
 * Inngest's step limit (pkg/execution/executor/validate.go checkStepLimit): before each request to
 * the app, a run that already holds `limit` step results fails instead; the request is not made.
 * (A single answer planning more than `limit` steps at once fails the run too: executor.go.)
 */
export function stepLimitError(limit: number): SerializedError {
  return {
    name: "InngestErrFunctionOverflowed",
    message: `The function run exceeded the step limit of ${limit} steps.`,
    error: "function has too many steps",
    stack: "",
  };
}

/**
 * Starts a run of `fn` for `event` (its internal id `eventInternalId`), unless a run of `fn` was
 * already started for the same event id in the last 24 h: Inngest's run idempotency
 * (pkg/execution/runner/runner.go Initialize: the key is the event's `id`;
 * consts.FunctionIdempotencyPeriod). Returns the run id, or undefined when skipped.
 */
export async function createRun(tx: Tx, fn: FunctionDefinition, event: EngineEvent, eventInternalId: string): Promise<string | undefined> {
  const id = ulid();
  const { rowCount } = await tx.client.query(
    `INSERT INTO engine.run_keys (function_id, key, run_id) VALUES ($1, $2, $3)
     ON CONFLICT (function_id, key) DO UPDATE SET run_id = excluded.run_id, created_at = now()
     WHERE engine.run_keys.created_at < now() - interval '24 hours'`,
    [fn.id, event.id, id],
  );
  if (rowCount === 0) {
    tx.log(`engine skipped ${fn.id} for ${event.name} ${eventInternalId}: a run for event id ${event.id} was started in the last 24 h`);
    return undefined;
  }
  const { keys, limits } = concurrencyKeys(fn, event);
  await tx.client.query(
    `INSERT INTO engine.runs (id, function_id, event_id, event, status, ckeys, climits) VALUES ($1, $2, $3, $4, 'running', $5, $6)`,
    [id, fn.id, eventInternalId, JSON.stringify(event), keys, limits],
  );
  for (const entry of fn.cancel) {
    await tx.client.query(
      `INSERT INTO engine.waits (run_id, kind, event_name, expression, expires_at)
       VALUES ($1, 'cancel', $2, $3, now() + make_interval(secs => $4::double precision / 1000))`,
      [id, entry.event, entry.if ?? null, entry.timeoutMs ?? 365 * 86_400_000],
    );
  }
  await scheduleCall(tx, { id, ckeys: keys, climits: limits }, "", 0, 0, jobKeys.start(fn.id, event.id));
  tx.log(`${describeRun({ id, function_id: fn.id })} started by ${event.name} ${eventInternalId}`);
  return id;
}

/** Queues a call to the app: stepId "" is a discovery request, otherwise a planned step. */
export async function scheduleCall(
  tx: Tx,
  run: Pick<RunRow, "id" | "ckeys" | "climits">,
  stepId: string,
  attempt: number,
  delayMs: number,
  key: string,
  connErrors = 0,
): Promise<LeasedJob | undefined> {
  // A call due now is leased right here when its concurrency keys allow it: this saves a lease
  // round trip per step, and a crash before it runs is covered by the reaper like any lease.
  const owner = delayMs <= 0 && tx.owner !== undefined && (await concurrencyAllows(tx, run)) ? tx.owner : null;
  const { rows } = await tx.client.query<LeasedJob>({
    name: "engine_schedule_call",
    text: `INSERT INTO engine.jobs (run_id, kind, step_id, attempt, conn_errors, run_at, ckeys, climits, lease_owner, leased_at, job_key)
     VALUES ($1, 'call', $2, $3, $4, clock_timestamp() + make_interval(secs => $5::double precision / 1000), $6, $7, $8,
       CASE WHEN $8::int IS NULL THEN NULL ELSE clock_timestamp() END, $9)
     ON CONFLICT (run_id, kind, step_id) DO NOTHING
     RETURNING id, run_id, kind, step_id, attempt, conn_errors, job_key`,
    values: [run.id, stepId, attempt, connErrors, delayMs, run.ckeys, run.climits, owner, key],
  });
  const job = rows[0];
  if (!job) {
    // A discovery of this run is already in flight: it carries stale memos, so ask for another
    // once it is answered (two discoveries of one run must never run at once).
    if (stepId === "" && !tx.leased.some((leased) => leased.run_id === run.id && leased.step_id === "")) {
      await tx.client.query(
        `UPDATE engine.runs SET rediscover = true WHERE id = $1 AND EXISTS (
           SELECT 1 FROM engine.jobs WHERE run_id = $1 AND kind = 'call' AND step_id = '' AND lease_owner IS NOT NULL)`,
        [run.id],
      );
    }
    return undefined;
  }
  if (owner !== null) {
    tx.leased.push(job);
    return job;
  }
  // Wake the worker even for later work: it recomputes when its next job is due.
  tx.wake = true;
  return undefined;
}

/** Concurrency limits count leased calls; the advisory lock is the one the lease loop takes. */
async function concurrencyAllows(tx: Tx, run: Pick<RunRow, "ckeys" | "climits">): Promise<boolean> {
  if (run.ckeys.length === 0) return true;
  await tx.client.query("SELECT pg_advisory_xact_lock($1, 0)", [LEASE_LOCK_NAMESPACE]);
  const { rows } = await tx.client.query<{ k: string; n: number }>(
    `SELECT k, count(*)::int AS n FROM engine.jobs a, unnest(a.ckeys) k WHERE a.lease_owner IS NOT NULL AND k = ANY($1) GROUP BY k`,
    [run.ckeys],
  );
  const active = new Map(rows.map((row) => [row.k, row.n]));
  return run.ckeys.every((key, index) => (active.get(key) ?? 0) < (run.climits[index] ?? Infinity));
}

export async function scheduleTimer(tx: Tx, runId: string, kind: "sleep" | "wait_timeout", stepId: string, at: Date): Promise<void> {
  await tx.client.query(
    `INSERT INTO engine.jobs (run_id, kind, step_id, run_at) VALUES ($1, $2, $3, $4)
     ON CONFLICT (run_id, kind, step_id) DO NOTHING`,
    [runId, kind, stepId, at],
  );
  tx.wake = true;
}

/**
 * Memoizes a step result and puts it on the stack (completion order). Returns false if the step
 * already had a result: the first resolution wins, later ones are ignored.
 */
export async function resolveStep(
  tx: Tx,
  run: RunRow,
  step: { id: string; op: string; name: string; attempt?: number },
  memo: unknown,
): Promise<boolean> {
  const { rows } = await tx.client.query<{ position: number }>({
    name: "engine_resolve_step",
    text: `WITH resolved AS (
       INSERT INTO engine.steps (run_id, step_id, op, name, memo, position, completed_at, attempts)
       VALUES ($1, $2, $3, $4, $5, (SELECT stack_size FROM engine.runs WHERE id = $1), clock_timestamp(), $6)
       ON CONFLICT (run_id, step_id) DO UPDATE SET memo = excluded.memo, position = excluded.position,
         completed_at = excluded.completed_at, op = excluded.op, attempts = excluded.attempts
       WHERE engine.steps.memo IS NULL
       RETURNING 1)
     UPDATE engine.runs SET stack_size = stack_size + 1, updated_at = clock_timestamp()
     WHERE id = $1 AND EXISTS (SELECT 1 FROM resolved) RETURNING stack_size - 1 AS position`,
    values: [run.id, step.id, step.op, step.name, JSON.stringify(memo), (step.attempt ?? 0) + 1],
  });
  const position = rows[0]?.position;
  if (position === undefined) return false;
  tx.memos.push({ runId: run.id, position, id: step.id, memo });
  return true;
}

/**
 * Version-2 coalescing: while planned steps are in flight, results are only memoized; the one
 * discovery request goes out when the pending set is empty (after every result in race/v1 mode).
 */
export async function continueRun(tx: Tx, runId: string, key: (run: RunRow) => string): Promise<void> {
  const { rows } = await tx.client.query<RunRow>(`SELECT * FROM engine.runs WHERE id = $1`, [runId]);
  const run = rows[0];
  if (!run || run.status !== "running") return;
  if (run.pending.length > 0 && !run.race && run.req_version !== 1) return;
  if (run.pending.length === 0) {
    await tx.client.query(`UPDATE engine.runs SET disable_immediate = false, race = false, rediscover = false WHERE id = $1`, [runId]);
  }
  await scheduleCall(tx, run, "", 0, 0, key(run));
}
