import type { BatchEvent } from "@batchgen/types";
import type { Queryable } from "./db.ts";

export interface OutboxEvent {
  readonly id: string;
  readonly event_id: string;
  readonly name: string;
  readonly data: Record<string, unknown>;
  readonly attempts: number;
}

/**
 * Records an event in the caller's transaction; the caller sends it right after commit. The
 * poller leaves it alone for a few seconds, so it does not send it a second time meanwhile.
 */
export async function enqueueEvent(db: Queryable, event: BatchEvent): Promise<string> {
  const { rows } = await db.query<{ id: string }>(
    `INSERT INTO event_outbox (event_id, name, data, next_attempt_at) VALUES ($1, $2, $3, now() + interval '5 seconds')
     ON CONFLICT (event_id) DO UPDATE SET event_id = EXCLUDED.event_id
     RETURNING id`,
    [event.id, event.name, JSON.stringify(event.data)],
  );
  return rows[0]!.id;
}

/**
 * Claims unsent events for one delivery attempt: due ones (the poller), or the given never-tried
 * ones (a flush right after commit). The claim pushes `next_attempt_at` out, so no other
 * dispatcher takes them while the send is in flight — no transaction stays open across HTTP.
 */
export async function claimEvents(db: Queryable, limit: number, ids?: readonly string[]): Promise<OutboxEvent[]> {
  const { rows } = await db.query<OutboxEvent>(
    `UPDATE event_outbox SET next_attempt_at = now() + interval '30 seconds'
     WHERE id IN (
       SELECT id FROM event_outbox
       WHERE sent_at IS NULL
         AND (CASE WHEN $2::bigint[] IS NULL THEN next_attempt_at <= now() ELSE id = ANY($2::bigint[]) AND attempts = 0 END)
       ORDER BY id
       LIMIT $1
       FOR UPDATE SKIP LOCKED
     )
     RETURNING id, event_id, name, data, attempts`,
    [limit, ids ?? null],
  );
  return rows.sort((a, b) => Number(a.id) - Number(b.id));
}

export async function markEventsSent(db: Queryable, ids: readonly string[]): Promise<void> {
  await db.query("UPDATE event_outbox SET sent_at = now(), attempts = attempts + 1, last_error = NULL WHERE id = ANY($1::bigint[]) AND sent_at IS NULL", [ids]);
}

export async function markEventsFailed(db: Queryable, ids: readonly string[], error: string, retryInMs: number): Promise<void> {
  await db.query(
    `UPDATE event_outbox SET attempts = attempts + 1, last_error = $2,
       next_attempt_at = now() + ($3::int * interval '1 millisecond')
     WHERE id = ANY($1::bigint[])`,
    [ids, error.slice(0, 1_000), retryInMs],
  );
}

