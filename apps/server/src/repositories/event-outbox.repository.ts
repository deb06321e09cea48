import type { Queryable } from "./db.ts";

export interface OutboxEvent {
  readonly id: string;
  readonly event_id: string;
  readonly name: string;
  readonly data: Record<string, unknown>;
  readonly attempts: number;
}

/** Records an event in the caller's transaction; it is sent after commit. */
export async function enqueueEvent(
  db: Queryable,
  event: { id: string; name: string; data: Record<string, unknown> },
): Promise<string> {
  const { rows } = await db.query<{ id: string }>(
    `INSERT INTO event_outbox (event_id, name, data) VALUES ($1, $2, $3)
     ON CONFLICT (event_id) DO UPDATE SET event_id = EXCLUDED.event_id
     RETURNING id`,
    [event.id, event.name, JSON.stringify(event.data)],
  );
  return rows[0]!.id;
}

/** Locks due, unsent events (skipping those another dispatcher holds); call in a transaction. */
export async function lockDueEvents(db: Queryable, limit: number, ids?: readonly string[]): Promise<OutboxEvent[]> {
  const { rows } = await db.query<OutboxEvent>(
    `SELECT id, event_id, name, data, attempts FROM event_outbox
     WHERE sent_at IS NULL AND ($2::bigint[] IS NULL OR id = ANY($2::bigint[]))
       AND ($2::bigint[] IS NOT NULL OR next_attempt_at <= now())
     ORDER BY id
     LIMIT $1
     FOR UPDATE SKIP LOCKED`,
    [limit, ids ?? null],
  );
  return rows;
}

export async function markEventsSent(db: Queryable, ids: readonly string[]): Promise<void> {
  await db.query("UPDATE event_outbox SET sent_at = now(), attempts = attempts + 1, last_error = NULL WHERE id = ANY($1::bigint[])", [ids]);
}

export async function markEventsFailed(db: Queryable, ids: readonly string[], error: string, retryInMs: number): Promise<void> {
  await db.query(
    `UPDATE event_outbox SET attempts = attempts + 1, last_error = $2,
       next_attempt_at = now() + ($3::int * interval '1 millisecond')
     WHERE id = ANY($1::bigint[])`,
    [ids, error.slice(0, 1_000), retryInMs],
  );
}

export async function countUnsentEvents(db: Queryable): Promise<number> {
  const { rows } = await db.query<{ count: string }>("SELECT count(*) FROM event_outbox WHERE sent_at IS NULL");
  return Number(rows[0]?.count ?? 0);
}
