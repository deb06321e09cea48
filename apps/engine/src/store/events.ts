import { ulid } from "ulid";
import { expressionMatches } from "../match/cel.ts";
import { findTriggeredFunctions } from "./functions.ts";
import { engineError, type EngineEvent, type IncomingEvent, type RunRow, type RunStatus, type SerializedError } from "./records.ts";
import { continueRun, createRun, describeRun, jobKeys, lockRun, resolveStep } from "./runs.ts";
import type { Tx } from "./tx.ts";

/*
 * Events in, and runs' ends out. The two live together because they recurse into each other: an
 * event can end a run (cancelOn), and a run's end is an event (inngest/function.finished, .failed,
 * .cancelled) that can start onFailure runs or end others. runs.ts below holds the rest of a run's
 * state; it never reaches up here.
 */

interface OpenWait {
  readonly id: string;
  readonly run_id: string;
  readonly kind: "event" | "cancel";
  readonly step_id: string | null;
  readonly expression: string | null;
  readonly run_event: EngineEvent;
}

/**
 * Takes events in, in the caller's transaction, as Inngest's runner does with each event
 * (pkg/execution/runner/runner.go handleMessage): stores it, resumes matching waits, cancels
 * matching runs, then starts triggered runs. A repeated event id is still matched against waits
 * and cancellations; only run creation is deduplicated, per function, by the event's id (see
 * createRun). Waits are matched against what exists at this moment only: an event that arrives
 * before a wait is registered does not resume it (the lost-wakeup edge, kept on purpose).
 */
export async function ingestEvents(tx: Tx, events: readonly IncomingEvent[]): Promise<void> {
  for (const { internalId, event } of events) {
    await tx.client.query(`INSERT INTO engine.events (id, name, body) VALUES ($1, $2, $3) ON CONFLICT (id) DO NOTHING`, [
      internalId,
      event.name,
      JSON.stringify(event),
    ]);
    await matchWaits(tx, internalId, event);
    await startTriggeredRuns(tx, internalId, event);
  }
}

async function matchWaits(tx: Tx, internalId: string, event: EngineEvent): Promise<void> {
  // Only runs started before this event are candidates (runs this event starts are created later).
  // A cancellation also needs the event to be newer than the run and not the run's own trigger
  // (executor.go handlePausesAllNaively / handlePause: `evtID <= RunID` and TriggeringEventID).
  const { rows } = await tx.client.query<OpenWait>(
    `SELECT w.id, w.run_id, w.kind, w.step_id, w.expression, r.event AS run_event
     FROM engine.waits w JOIN engine.runs r ON r.id = w.run_id
     WHERE w.event_name = $1 AND w.resolved_at IS NULL AND w.expires_at > now() AND r.status = 'running'
       AND (w.kind = 'event' OR ($2::text COLLATE "C" > r.id COLLATE "C" AND r.event_id <> $2))
     ORDER BY w.run_id, w.id`,
    [event.name, internalId],
  );
  for (const wait of rows) {
    if (!expressionMatches(wait.expression, { event: wait.run_event, async: event })) continue;
    const run = await lockRun(tx, wait.run_id);
    if (!run || run.status !== "running") continue;
    const { rowCount } = await tx.client.query(
      `UPDATE engine.waits SET resolved_at = clock_timestamp(), resolution = 'event', matched_event_id = $2 WHERE id = $1 AND resolved_at IS NULL`,
      [wait.id, internalId],
    );
    if (rowCount === 0) continue;
    if (wait.kind === "cancel") {
      await finishRun(tx, run, { status: "cancelled", reason: `cancelled by ${event.name} ${internalId}` });
      continue;
    }
    const stepId = wait.step_id ?? "";
    await tx.client.query(`DELETE FROM engine.jobs WHERE run_id = $1 AND kind = 'wait_timeout' AND step_id = $2 AND lease_owner IS NULL`, [
      run.id,
      stepId,
    ]);
    if (await resolveStep(tx, run, { id: stepId, op: "WaitForEvent", name: event.name }, { data: event })) {
      tx.log(`${describeRun(run)} wait for ${event.name} resumed by event ${internalId}`);
      await continueRun(tx, run.id, (current) => jobKeys.after(current, stepId, "-event"));
    }
  }
}

async function startTriggeredRuns(tx: Tx, internalId: string, event: EngineEvent): Promise<void> {
  for (const fn of await findTriggeredFunctions(tx.client, event.name)) {
    const matches = fn.triggers.some((trigger) => {
      const nameMatches =
        trigger.event === event.name || (trigger.event.endsWith("*") && event.name.startsWith(trigger.event.slice(0, -1)));
      return nameMatches && expressionMatches(trigger.expression, { event });
    });
    if (matches) await createRun(tx, fn, event, internalId);
  }
}

export interface RunOutcome {
  readonly status: Exclude<RunStatus, "running">;
  readonly output?: unknown;
  readonly error?: SerializedError;
  readonly reason?: string;
}

/**
 * Ends a run: drops its queued work and open waits, and emits the lifecycle events
 * (inngest/function.finished plus .failed or .cancelled) in the same transaction, which is what
 * triggers onFailure handlers. A call still in flight finishes in the app; its answer is dropped.
 */
export async function finishRun(tx: Tx, run: RunRow, outcome: RunOutcome): Promise<void> {
  await tx.client.query(
    `UPDATE engine.runs SET status = $2, output = $3, error = $4, pending = '{}', ended_at = clock_timestamp(), updated_at = clock_timestamp() WHERE id = $1`,
    [
      run.id,
      outcome.status,
      outcome.output === undefined ? null : JSON.stringify(outcome.output),
      outcome.error ? JSON.stringify(outcome.error) : null,
    ],
  );
  await tx.client.query(`DELETE FROM engine.jobs WHERE run_id = $1 AND lease_owner IS NULL`, [run.id]);
  tx.ended.push(run.id);
  await tx.client.query(
    `UPDATE engine.waits SET resolved_at = clock_timestamp(), resolution = 'run ' || $2 WHERE run_id = $1 AND resolved_at IS NULL`,
    [run.id, outcome.status],
  );
  const detail =
    outcome.status === "failed"
      ? `: ${outcome.error?.name ?? "Error"}: ${outcome.error?.message ?? ""}`
      : outcome.reason
        ? ` (${outcome.reason})`
        : "";
  tx.log(`${describeRun(run)} ${outcome.status}${detail}`);

  const base = { function_id: run.function_id, run_id: run.id, event: run.event };
  const status = { completed: "Completed", failed: "Failed", cancelled: "Cancelled" }[outcome.status];
  const events: { name: string; data: Record<string, unknown> }[] = [];
  if (outcome.status === "failed") {
    events.push({ name: "inngest/function.failed", data: { ...base, error: outcome.error } });
  }
  if (outcome.status === "cancelled") {
    events.push({ name: "inngest/function.cancelled", data: { ...base, error: engineError("function cancelled") } });
  }
  events.push({
    name: "inngest/function.finished",
    data: {
      ...base,
      ...(outcome.status === "completed" ? { result: outcome.output ?? null } : { error: outcome.error ?? engineError(outcome.status) }),
      _inngest: { status },
    },
  });
  await ingestEvents(
    tx,
    events.map((event) => {
      const internalId = ulid();
      return { internalId, event: { ...event, id: internalId, ts: Date.now(), user: {} } };
    }),
  );
}
