import type { BatchConfig, BatchStatus } from "@batchgen/types";
import type { Queryable } from "./db.ts";

/** A batch_jobs row as node-postgres returns it. */
export interface BatchJobRow {
  id: string;
  user_id: string;
  institution_id: string | null;
  status: BatchStatus;
  total_items: number;
  completed_items: number;
  failed_items: number;
  cancelled_items: number;
  generating_items: number;
  config: BatchConfig;
  created_at: Date;
  started_at: Date | null;
  paused_at: Date | null;
  cancelled_at: Date | null;
  finished_at: Date | null;
  updated_at: Date;
  runner_id: string | null;
  runner_heartbeat_at: Date | null;
  /** created_at with its full microsecond precision (a JS Date keeps milliseconds), for cursors. */
  created_key: string;
}

const COLUMNS = `id, user_id, institution_id, status, total_items, completed_items, failed_items,
  cancelled_items, generating_items, config, created_at, started_at, paused_at, cancelled_at,
  finished_at, updated_at, runner_id, runner_heartbeat_at,
  to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') AS created_key`;

/** Creates the batch `running` with all its items `pending`, in the caller's transaction. */
export async function insertBatchWithItems(
  db: Queryable,
  input: { userId: string; institutionId: string | null; config: BatchConfig },
): Promise<BatchJobRow> {
  const { rows } = await db.query<BatchJobRow>(
    `INSERT INTO batch_jobs (user_id, institution_id, status, total_items, config, started_at)
     VALUES ($1, $2, 'running', $3, $4, now())
     RETURNING ${COLUMNS}`,
    [input.userId, input.institutionId, input.config.count, JSON.stringify(input.config)],
  );
  const batch = rows[0]!;
  await db.query(
    `INSERT INTO batch_items (batch_id, position)
     SELECT $1, position FROM generate_series(0, $2::int - 1) AS position`,
    [batch.id, input.config.count],
  );
  return batch;
}

export async function findBatchById(db: Queryable, batchId: string): Promise<BatchJobRow | null> {
  const { rows } = await db.query<BatchJobRow>(`SELECT ${COLUMNS} FROM batch_jobs WHERE id = $1`, [batchId]);
  return rows[0] ?? null;
}

/** Locks the batch row for the rest of the caller's transaction; every state change goes through this. */
export async function lockBatchById(db: Queryable, batchId: string): Promise<BatchJobRow | null> {
  const { rows } = await db.query<BatchJobRow>(`SELECT ${COLUMNS} FROM batch_jobs WHERE id = $1 FOR UPDATE`, [batchId]);
  return rows[0] ?? null;
}

export interface BatchCursor {
  readonly createdAt: string;
  readonly id: string;
}

/** The owner's batches, newest first, keyset-paginated on (created_at, id). */
export async function listBatchesByUser(
  db: Queryable,
  userId: string,
  page: { limit: number; after?: BatchCursor },
): Promise<BatchJobRow[]> {
  const { rows } = await db.query<BatchJobRow>(
    `SELECT ${COLUMNS} FROM batch_jobs
     WHERE user_id = $1
       AND ($2::timestamptz IS NULL OR (created_at, id) < ($2::timestamptz, $3::uuid))
     ORDER BY created_at DESC, id DESC
     LIMIT $4`,
    [userId, page.after?.createdAt ?? null, page.after?.id ?? null, page.limit],
  );
  return rows;
}

/**
 * Moves a batch between control states inside the caller's transaction (which
 * holds the row lock). On cancel every pending item becomes `cancelled` in
 * the same statement batch, so no claim can see them afterwards.
 */
export async function applyControlTransition(
  db: Queryable,
  batchId: string,
  to: "running" | "paused" | "cancelled",
): Promise<BatchJobRow> {
  let cancelledNow = 0;
  if (to === "cancelled") {
    const cancelled = await db.query(
      `UPDATE batch_items SET status = 'cancelled', finished_at = now()
       WHERE batch_id = $1 AND status = 'pending'`,
      [batchId],
    );
    cancelledNow = cancelled.rowCount ?? 0;
  }
  const { rows } = await db.query<BatchJobRow>(
    `UPDATE batch_jobs SET
       status = $2,
       paused_at = CASE WHEN $2 = 'paused' THEN now() WHEN $2 = 'running' THEN NULL ELSE paused_at END,
       cancelled_at = CASE WHEN $2 = 'cancelled' THEN now() ELSE cancelled_at END,
       cancelled_items = cancelled_items + $3
     WHERE id = $1
     RETURNING ${COLUMNS}`,
    [batchId, to, cancelledNow],
  );
  return rows[0]!;
}

/**
 * Ends a running batch whose items are all done. Conditional, so a completion
 * can never overwrite a pause or a cancel that won the row lock first.
 */
export async function finalizeRunningBatch(db: Queryable, batchId: string): Promise<BatchJobRow | null> {
  const { rows } = await db.query<BatchJobRow>(
    `UPDATE batch_jobs SET
       status = CASE
         WHEN failed_items = 0 THEN 'completed'
         WHEN completed_items = 0 THEN 'failed'
         ELSE 'completed_with_errors' END,
       finished_at = now(),
       runner_id = NULL,
       runner_heartbeat_at = NULL
     WHERE id = $1 AND status = 'running'
       AND generating_items = 0
       AND completed_items + failed_items + cancelled_items = total_items
     RETURNING ${COLUMNS}`,
    [batchId],
  );
  return rows[0] ?? null;
}

/** Stamps finished_at on a cancelled batch once nothing is in flight; returns null if not yet. */
export async function finalizeCancelledBatch(db: Queryable, batchId: string): Promise<BatchJobRow | null> {
  const { rows } = await db.query<BatchJobRow>(
    // status is in the SET list so the progress trigger tells live pages the batch has ended.
    `UPDATE batch_jobs SET status = 'cancelled', finished_at = now(), runner_id = NULL, runner_heartbeat_at = NULL
     WHERE id = $1 AND status = 'cancelled' AND generating_items = 0 AND finished_at IS NULL
     RETURNING ${COLUMNS}`,
    [batchId],
  );
  return rows[0] ?? null;
}

export type RunnerLeaseResult =
  | { readonly acquired: true; readonly batch: BatchJobRow; readonly requeued: number }
  | { readonly acquired: false; readonly batch: BatchJobRow | null; readonly heldBy: string | null };

/** True when the batch's runner heartbeated within `staleAfterMs`, by the database's clock. */
export async function isRunnerLeaseFresh(db: Queryable, batchId: string, staleAfterMs: number): Promise<boolean> {
  const { rows } = await db.query<{ fresh: boolean }>(
    `SELECT runner_id IS NOT NULL AND runner_heartbeat_at > clock_timestamp() - $2 * interval '1 millisecond' AS fresh
     FROM batch_jobs WHERE id = $1`,
    [batchId, staleAfterMs],
  );
  return rows[0]?.fresh ?? false;
}

/**
 * Takes the batch's runner lease unless another runner heartbeated within `staleAfterMs` (by the
 * database's clock: API hosts may disagree). Taking it over from a dead runner puts that runner's
 * `generating` items back to `pending` in the same transaction — only while the batch is active:
 * on a cancelled or finished batch nothing may become pending again (batch-control cancels
 * orphans of a cancelled batch instead).
 */
export async function acquireRunnerLease(
  db: Queryable,
  batchId: string,
  runnerId: string,
  staleAfterMs: number,
): Promise<RunnerLeaseResult> {
  const batch = await lockBatchById(db, batchId);
  if (!batch) return { acquired: false, batch: null, heldBy: null };
  if (batch.status !== "running" && batch.status !== "paused") return { acquired: false, batch, heldBy: null };
  const live = batch.runner_id !== null && batch.runner_id !== runnerId && (await isRunnerLeaseFresh(db, batchId, staleAfterMs));
  if (live) return { acquired: false, batch, heldBy: batch.runner_id };

  const requeued = await db.query(
    `UPDATE batch_items SET status = 'pending', started_at = NULL, claimed_by = NULL
     WHERE batch_id = $1 AND status = 'generating'`,
    [batchId],
  );
  const count = requeued.rowCount ?? 0;
  // Counters are touched only when something moved: each counter update notifies live pages.
  const { rows } = await db.query<BatchJobRow>(
    count > 0
      ? `UPDATE batch_jobs SET runner_id = $2, runner_heartbeat_at = now(), generating_items = generating_items - $3
         WHERE id = $1 RETURNING ${COLUMNS}`
      : `UPDATE batch_jobs SET runner_id = $2, runner_heartbeat_at = now() WHERE id = $1 RETURNING ${COLUMNS}`,
    count > 0 ? [batchId, runnerId, count] : [batchId, runnerId],
  );
  return { acquired: true, batch: rows[0]!, requeued: count };
}

export async function heartbeatRunnerLease(db: Queryable, batchId: string, runnerId: string): Promise<boolean> {
  const result = await db.query(
    "UPDATE batch_jobs SET runner_heartbeat_at = now() WHERE id = $1 AND runner_id = $2",
    [batchId, runnerId],
  );
  return result.rowCount === 1;
}

export async function releaseRunnerLease(db: Queryable, batchId: string, runnerId: string): Promise<void> {
  await db.query(
    "UPDATE batch_jobs SET runner_id = NULL, runner_heartbeat_at = NULL WHERE id = $1 AND runner_id = $2",
    [batchId, runnerId],
  );
}
