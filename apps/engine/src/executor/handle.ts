import { validateExpression } from "../match/cel.ts";
import { parseDurationMs, resolveSleepUntil } from "../match/duration.ts";
import { finishRun } from "../store/events.ts";
import { engineError, type RunRow, type SerializedError } from "../store/records.ts";
import {
  continueRun,
  describeRun,
  jobKeyOf,
  jobKeys,
  resolveStep,
  scheduleCall,
  scheduleTimer,
  stepLimitError,
} from "../store/runs.ts";
import type { LeasedJob, Tx } from "../store/tx.ts";
import { reconnectDelayMs, retryDelayMs } from "./backoff.ts";
import type { CallResult, Op } from "./call.ts";

export interface HandlerSettings {
  readonly owner: number;
  readonly backoffScale: number;
  readonly maxStepsPerRun: number;
  readonly maxStepOutputBytes: number;
  /** Consecutive connection failures tolerated before one counts as a failed attempt. */
  readonly connectionErrorBudget: number;
}

const SUPPORTED_OPS = new Set([
  "StepPlanned",
  "StepRun",
  "StepError",
  "StepFailed",
  "Sleep",
  "WaitForEvent",
  "RunComplete",
  "DiscoveryRequest",
]);

/**
 * Claims the job for this transaction: the run is locked first (lock order is always run, then
 * jobs and waits), then the job is deleted only if this engine still holds its lease. A job whose
 * lease was reclaimed after a presumed crash is someone else's now, and its answer is dropped.
 */
async function claim(tx: Tx, job: LeasedJob, owner: number): Promise<(RunRow & { claimed_attempt: number }) | undefined> {
  const { rows } = await tx.client.query<RunRow & { claimed: boolean; claimed_attempt: number }>({
    name: "engine_claim_v2",
    text: `WITH locked AS (SELECT * FROM engine.runs WHERE id = $3 FOR UPDATE),
          claimed AS (DELETE FROM engine.jobs WHERE id = $1 AND lease_owner = $2 AND EXISTS (SELECT 1 FROM locked) RETURNING attempt)
     SELECT locked.*, EXISTS (SELECT 1 FROM claimed) AS claimed, (SELECT attempt FROM claimed) AS claimed_attempt FROM locked`,
    values: [job.id, owner, job.run_id],
  });
  const run = rows[0];
  if (!run?.claimed || run.status !== "running") return undefined;
  return run;
}

async function loadMaxAttempts(tx: Tx, run: RunRow): Promise<number> {
  const { rows } = await tx.client.query<{ max_attempts: number }>(`SELECT max_attempts FROM engine.functions WHERE id = $1`, [
    run.function_id,
  ]);
  return rows[0]?.max_attempts ?? 5;
}

async function retryOrFail(
  tx: Tx,
  run: RunRow,
  job: LeasedJob,
  settings: HandlerSettings,
  error: SerializedError,
  retryAfterMs?: number,
  step?: { id: string; name: string },
): Promise<void> {
  const maxAttempts = await loadMaxAttempts(tx, run);
  const next = job.attempt + 1;
  if (next >= maxAttempts) {
    await finishRun(tx, run, { status: "failed", error });
    return;
  }
  const delay = retryAfterMs ?? retryDelayMs(job.attempt, settings.backoffScale);
  await tx.client.query(
    `INSERT INTO engine.steps (run_id, step_id, op, name, attempts, last_error) VALUES ($1, $2, 'StepError', $3, $4, $5)
     ON CONFLICT (run_id, step_id) DO UPDATE SET attempts = excluded.attempts, last_error = excluded.last_error, name = excluded.name`,
    [run.id, step?.id ?? (job.step_id || "step"), step?.name ?? (job.step_id || "discovery"), next, JSON.stringify(error)],
  );
  await scheduleCall(tx, run, job.step_id, next, delay, jobKeyOf(job, run.function_id));
  tx.log(
    `${describeRun(run)} ${step ? `step "${step.name}"` : job.step_id ? `step ${job.step_id.slice(0, 8)}` : "discovery"} attempt ${next} of ${maxAttempts} in ${Math.round(delay / 100) / 10}s after ${error.name}: ${error.message}`,
  );
}

/** Applies one SDK answer in the caller's transaction; nothing is acted on before it commits. */
export async function applyCallResult(tx: Tx, leased: LeasedJob, result: CallResult, settings: HandlerSettings): Promise<void> {
  const run = await claim(tx, leased, settings.owner);
  if (!run) return;
  // A checkpoint during the request starts its attempts again from 0 (checkpoint.ts).
  const job = run.claimed_attempt === leased.attempt ? leased : { ...leased, attempt: run.claimed_attempt };
  // Another discovery was asked for while this one was in flight: it is answered now, so the
  // request goes out (unless this answer already queued one, which carries the fresh state).
  if (job.step_id === "" && run.rediscover) await tx.client.query(`UPDATE engine.runs SET rediscover = false WHERE id = $1`, [run.id]);
  await applyToRun(tx, run, job, result, settings);
  if (job.step_id === "" && run.rediscover) await continueRun(tx, run.id, () => jobKeyOf(job, run.function_id));
}

async function applyToRun(tx: Tx, run: RunRow, job: LeasedJob, result: CallResult, settings: HandlerSettings): Promise<void> {
  if (result.kind !== "unreachable" && result.kind !== "invalid" && result.kind !== "upstream" && result.version && result.version !== run.req_version) {
    await tx.client.query(`UPDATE engine.runs SET req_version = $2 WHERE id = $1`, [run.id, result.version]);
  }
  switch (result.kind) {
    case "unreachable": {
      const failures = job.conn_errors + 1;
      if (failures <= settings.connectionErrorBudget) {
        const delay = reconnectDelayMs(failures, settings.backoffScale);
        await scheduleCall(tx, run, job.step_id, job.attempt, delay, jobKeyOf(job, run.function_id), failures);
        tx.log(`${describeRun(run)} app unreachable (${result.message}); trying again in ${Math.round(delay / 100) / 10}s`);
        return;
      }
      await retryOrFail(tx, run, job, settings, engineError(`the app was unreachable ${failures} times in a row: ${result.message}`));
      return;
    }
    case "invalid":
      await retryOrFail(tx, run, job, settings, engineError(result.message));
      return;
    case "upstream":
      await retryOrFail(tx, run, job, settings, result.error);
      return;
    case "completed":
      await finishRun(tx, run, { status: "completed", output: result.output });
      return;
    case "error":
      if (result.retriable) await retryOrFail(tx, run, job, settings, result.error, result.retryAfterMs);
      else await finishRun(tx, run, { status: "failed", error: result.error });
      return;
    case "ops":
      await applyOps(tx, run, job, result.ops, result.retryAfterMs, settings, result.version ?? run.req_version);
      return;
  }
}

/** Which of `stepIds` the run already knows (and whether they resolved). */
async function knownSteps(tx: Tx, runId: string, stepIds: string[]): Promise<Map<string, { resolved: boolean }>> {
  const { rows } = await tx.client.query<{ id: string; resolved: boolean }>({
    name: "engine_known_steps_v2",
    text: `SELECT step_id AS id, memo IS NOT NULL AS resolved FROM engine.steps WHERE run_id = $1 AND step_id = ANY($2) AND op <> 'StepError'`,
    values: [runId, stepIds],
  });
  return new Map(rows.map((entry) => [entry.id, { resolved: entry.resolved }]));
}

async function applyOps(
  tx: Tx,
  run: RunRow,
  job: LeasedJob,
  ops: Op[],
  retryAfterMs: number | undefined,
  settings: HandlerSettings,
  reqVersion: number,
): Promise<void> {
  const unsupported = ops.find((op) => !SUPPORTED_OPS.has(op.op));
  if (unsupported) {
    await finishRun(tx, run, {
      status: "failed",
      error: engineError(
        `op ${unsupported.op} (${unsupported.displayName ?? unsupported.name ?? unsupported.id}) is not supported by the local engine`,
      ),
    });
    return;
  }
  const complete = ops.find((op) => op.op === "RunComplete");
  if (complete) {
    await finishRun(tx, run, { status: "completed", output: complete.data ?? null });
    return;
  }

  // One answer with more ops than the step limit fails the run at once (executor.go HandleGeneratorResponse:
  // "Disallow parallel plans that exceed the step limit"); otherwise the limit is checked before
  // each request to the app (worker.ts), as Inngest's validate.go does.
  if (ops.length > settings.maxStepsPerRun) {
    await finishRun(tx, run, { status: "failed", error: stepLimitError(settings.maxStepsPerRun) });
    return;
  }
  const knownById = await knownSteps(
    tx,
    run.id,
    ops.map((op) => op.id),
  );

  let pending = [...run.pending];
  let progressed = false;
  // What the next discovery follows, for its job key: the last op handled that lets the run go on.
  let after = jobKeyOf(job, run.function_id);
  const progress = (stepId: string, suffix: "" | "-failure" = ""): void => {
    progressed = true;
    after = run.pending.length > 0 ? jobKeys.coalesced(run.id, stepId) : jobKeys.after(run, stepId, suffix);
  };
  let started = 0;
  const planned: string[] = [];
  let race = run.race;
  for (const op of ops) {
    const name = op.displayName ?? op.name ?? op.id;
    const known = knownById.get(op.id);
    switch (op.op) {
      case "StepRun": {
        const size = Buffer.byteLength(JSON.stringify(op.data ?? null));
        if (size > settings.maxStepOutputBytes) {
          await finishRun(tx, run, {
            status: "failed",
            error: engineError(
              `step "${name}" returned ${(size / 1048576).toFixed(1)} MB, over the ${settings.maxStepOutputBytes / 1048576} MB limit per step output`,
            ),
          });
          return;
        }
        pending = pending.filter((id) => id !== op.id);
        if (await resolveStep(tx, run, { id: op.id, op: op.op, name, attempt: job.attempt }, { data: op.data ?? null })) {
          tx.log(`${describeRun(run)} step "${name}" completed`);
        }
        progress(op.id);
        break;
      }
      case "StepFailed":
        pending = pending.filter((id) => id !== op.id);
        if (
          await resolveStep(
            tx,
            run,
            { id: op.id, op: op.op, name, attempt: job.attempt },
            { error: op.error ?? engineError("step failed") },
          )
        ) {
          tx.log(`${describeRun(run)} step "${name}" failed for good: ${op.error?.message ?? ""}`);
        }
        progress(op.id, "-failure");
        break;
      case "StepError":
        await retryOrFail(tx, run, job, settings, op.error ?? engineError(`step "${name}" failed`), retryAfterMs, { id: op.id, name });
        break;
      case "StepPlanned":
        if (known?.resolved) progress(op.id);
        else if (!pending.includes(op.id)) {
          pending.push(op.id);
          planned.push(name);
          started += 1;
          if (op.opts?.parallelMode) race = true;
          await tx.client.query(
            `INSERT INTO engine.steps (run_id, step_id, op, name) VALUES ($1, $2, 'StepPlanned', $3) ON CONFLICT (run_id, step_id) DO NOTHING`,
            [run.id, op.id, name],
          );
          await scheduleCall(tx, run, op.id, 0, 0, jobKeys.after(run, op.id, "-plan"));
        }
        break;
      case "Sleep": {
        if (known) {
          if (known.resolved) progress(op.id);
          break;
        }
        const until = resolveSleepUntil(op.name ?? "", Date.now()) ?? Date.now();
        started += 1;
        await tx.client.query(`INSERT INTO engine.steps (run_id, step_id, op, name) VALUES ($1, $2, 'Sleep', $3)`, [
          run.id,
          op.id,
          op.displayName ?? op.id,
        ]);
        await scheduleTimer(tx, run.id, "sleep", op.id, new Date(until));
        tx.log(`${describeRun(run)} sleeping until ${new Date(until).toISOString()} (${op.displayName ?? op.id})`);
        break;
      }
      case "WaitForEvent":
        if (known) {
          if (known.resolved) progress(op.id);
          break;
        }
        started += 1;
        if (await registerWait(tx, run, op)) progress(op.id);
        break;
      case "DiscoveryRequest":
        progress(op.id);
        break;
    }
  }
  if (planned.length > 1) {
    const names = planned.length > 5 ? `${planned.slice(0, 5).join(", ")}, …` : planned.join(", ");
    tx.log(`${describeRun(run)} running ${planned.length} steps in parallel: ${names}`);
  }
  let disableImmediate = run.disable_immediate || started > 1;
  // Version-2 coalescing: one discovery once no planned step is in flight (after every result in
  // race or version-1 mode), with immediate execution allowed again.
  const discover = progressed && (pending.length === 0 || race || reqVersion === 1);
  if (discover && pending.length === 0) {
    disableImmediate = false;
    race = false;
  }
  await tx.client.query({
    name: "engine_update_run_state",
    text: `UPDATE engine.runs SET pending = $2, disable_immediate = $3, race = $4, rediscover = rediscover AND NOT $5, updated_at = clock_timestamp() WHERE id = $1`,
    values: [run.id, pending, disableImmediate, race, discover && pending.length === 0],
  });
  if (!discover) return;
  const next = await scheduleCall(tx, run, "", 0, 0, after);
  if (next) {
    const stackSize = run.stack_size + tx.memos.filter((memo) => memo.runId === run.id).length;
    next.hint = { event: run.event, functionId: run.function_id, reqVersion, disableImmediate, stackSize };
  }
}

/** Registers a waitForEvent pause; returns true if it resolved at once (bad expression). */
async function registerWait(tx: Tx, run: RunRow, op: Op): Promise<boolean> {
  const eventName = op.name ?? "";
  const condition = typeof op.opts?.if === "string" && op.opts.if ? op.opts.if : null;
  const timeout = typeof op.opts?.timeout === "string" ? op.opts.timeout : "";
  const stepName = op.displayName ?? op.id;
  await tx.client.query(`INSERT INTO engine.steps (run_id, step_id, op, name) VALUES ($1, $2, 'WaitForEvent', $3)`, [
    run.id,
    op.id,
    stepName,
  ]);
  if (condition) {
    try {
      validateExpression(condition, ["event", "async"]);
    } catch (error) {
      // As on Inngest, an expression the engine cannot evaluate fails the step, not the run.
      await resolveStep(
        tx,
        run,
        { id: op.id, op: "WaitForEvent", name: stepName },
        { error: { name: "InvalidExpression", message: (error as Error).message, stack: "" } },
      );
      return true;
    }
  }
  // An empty or unreadable timeout expires at once, as on Inngest.
  const expiresAt = new Date(Date.now() + (parseDurationMs(timeout) ?? 0));
  await tx.client.query(
    `INSERT INTO engine.waits (run_id, kind, step_id, event_name, expression, expires_at) VALUES ($1, 'event', $2, $3, $4, $5)`,
    [run.id, op.id, eventName, condition, expiresAt],
  );
  await scheduleTimer(tx, run.id, "wait_timeout", op.id, expiresAt);
  tx.log(
    `${describeRun(run)} waiting for ${eventName}${condition ? ` if ${condition}` : ""} until ${expiresAt.toISOString()} (${stepName})`,
  );
  return false;
}

/**
 * The run already holds as many step results as the step limit allows: as on Inngest
 * (validate.go checkStepLimit, run before every request to the app), the request is not made
 * and the run fails.
 */
export async function failAtStepLimit(tx: Tx, job: LeasedJob, settings: HandlerSettings): Promise<void> {
  const run = await claim(tx, job, settings.owner);
  if (!run) return;
  await finishRun(tx, run, { status: "failed", error: stepLimitError(settings.maxStepsPerRun) });
}

/** A sleep has ended or a wait has timed out: memoize null and carry on. */
export async function applyTimer(tx: Tx, job: LeasedJob, settings: HandlerSettings): Promise<void> {
  const run = await claim(tx, job, settings.owner);
  if (!run) return;
  if (job.kind === "wait_timeout") {
    const { rowCount } = await tx.client.query(
      `UPDATE engine.waits SET resolved_at = clock_timestamp(), resolution = 'timeout' WHERE run_id = $1 AND step_id = $2 AND kind = 'event' AND resolved_at IS NULL`,
      [run.id, job.step_id],
    );
    if (rowCount === 0) return;
  }
  if (
    await resolveStep(tx, run, { id: job.step_id, op: job.kind === "sleep" ? "Sleep" : "WaitForEvent", name: job.step_id }, { data: null })
  ) {
    tx.log(`${describeRun(run)} ${job.kind === "sleep" ? "woke up from a sleep" : "wait timed out"}`);
    await continueRun(tx, run.id, (current) => jobKeys.after(current, job.step_id, job.kind === "sleep" ? "" : "-timeout"));
  }
}
