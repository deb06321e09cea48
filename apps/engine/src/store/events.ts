import { expressionMatches } from "../match/cel.ts";
import { findTriggeredFunctions } from "./functions.ts";
import { createRun, continueRun, describeRun, finishRun, jobKeys, lockRun, resolveStep } from "./runs.ts";
import type { Tx } from "./tx.ts";

export interface EngineEvent {
  readonly id: string;
  readonly name: string;
  readonly data: Record<string, unknown>;
  readonly ts: number;
  readonly user: Record<string, unknown>;
  readonly v?: string;
  readonly [key: string]: unknown;
}

/** An event as the event API accepted it: the server's internal id (what the API answers) and the event. */
export interface IncomingEvent {
  readonly internalId: string;
  readonly event: EngineEvent;
}

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
