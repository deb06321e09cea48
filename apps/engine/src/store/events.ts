import { expressionMatches } from "../match/cel.ts";
import { findTriggeredFunctions } from "./functions.ts";
import { createRun, continueRun, describeRun, finishRun, lockRun, resolveStep } from "./runs.ts";
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

interface OpenWait {
  readonly id: string;
  readonly run_id: string;
  readonly kind: "event" | "cancel";
  readonly step_id: string | null;
  readonly expression: string | null;
  readonly run_event: EngineEvent;
}

/**
 * Takes events in, in the caller's transaction: stores them (an id seen in the last 24 h is
 * skipped), resumes matching waits, cancels matching runs, then starts triggered runs. Waits are
 * matched against what exists at this moment only, exactly like Inngest: an event that arrives
 * before a wait is registered does not resume it (the lost-wakeup edge is kept on purpose).
 * Returns the ids of the events that were new.
 */
export async function ingestEvents(tx: Tx, events: readonly EngineEvent[]): Promise<string[]> {
  const fresh: string[] = [];
  for (const event of events) {
    const { rowCount } = await tx.client.query(
      `INSERT INTO engine.events (id, name, body) VALUES ($1, $2, $3)
       ON CONFLICT (id) DO UPDATE SET name = excluded.name, body = excluded.body, received_at = now()
       WHERE engine.events.received_at < now() - interval '24 hours'`,
      [event.id, event.name, JSON.stringify(event)],
    );
    if (rowCount === 0) continue;
    fresh.push(event.id);
    await matchWaits(tx, event);
    await startTriggeredRuns(tx, event);
  }
  return fresh;
}

async function matchWaits(tx: Tx, event: EngineEvent): Promise<void> {
  // Only runs started before this event are candidates (runs this event starts are created later).
  const { rows } = await tx.client.query<OpenWait>(
    `SELECT w.id, w.run_id, w.kind, w.step_id, w.expression, r.event AS run_event
     FROM engine.waits w JOIN engine.runs r ON r.id = w.run_id
     WHERE w.event_name = $1 AND w.resolved_at IS NULL AND w.expires_at > now() AND r.status = 'running'
     ORDER BY w.run_id, w.id`,
    [event.name],
  );
  for (const wait of rows) {
    if (!expressionMatches(wait.expression, { event: wait.run_event, async: event })) continue;
    const run = await lockRun(tx, wait.run_id);
    if (!run || run.status !== "running") continue;
    const { rowCount } = await tx.client.query(
      `UPDATE engine.waits SET resolved_at = clock_timestamp(), resolution = 'event', matched_event_id = $2 WHERE id = $1 AND resolved_at IS NULL`,
      [wait.id, event.id],
    );
    if (rowCount === 0) continue;
    if (wait.kind === "cancel") {
      await finishRun(tx, run, { status: "cancelled", reason: `cancelled by ${event.name} ${event.id}` });
      continue;
    }
    const stepId = wait.step_id ?? "";
    await tx.client.query(`DELETE FROM engine.jobs WHERE run_id = $1 AND kind = 'wait_timeout' AND step_id = $2 AND lease_owner IS NULL`, [
      run.id,
      stepId,
    ]);
    if (await resolveStep(tx, run, { id: stepId, op: "WaitForEvent", name: event.name }, { data: event })) {
      tx.log(`${describeRun(run)} wait for ${event.name} resumed by event ${event.id}`);
      await continueRun(tx, run.id);
    }
  }
}

async function startTriggeredRuns(tx: Tx, event: EngineEvent): Promise<void> {
  for (const fn of await findTriggeredFunctions(tx.client, event.name)) {
    const matches = fn.triggers.some((trigger) => {
      const nameMatches =
        trigger.event === event.name || (trigger.event.endsWith("*") && event.name.startsWith(trigger.event.slice(0, -1)));
      return nameMatches && expressionMatches(trigger.expression, { event });
    });
    if (matches) await createRun(tx, fn, event);
  }
}
