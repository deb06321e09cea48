import type { BatchItemStatus, GeneratedQuestion } from "@batchgen/types";
import { lockBatchById, lockBatchSql } from "./batch-job.repository.ts";
import type { Queryable } from "./db.ts";

export interface BatchItemRow {
  id: string;
  batch_id: string;
  position: number;
  status: BatchItemStatus;
  attempts: number;
  result: GeneratedQuestion | null;
  error: string | null;
  started_at: Date | null;
  finished_at: Date | null;
}

const COLUMNS = "id, batch_id, position, status, attempts, result, error, started_at, finished_at";

export interface ClaimedItem {
  readonly id: string;
  readonly position: number;
  /** Attempts in this round, this claim's included (the cap counts these). */
  readonly attempts: number;
  /** Attempts made in earlier rounds, before the failed items were retried (from attempt_history). */
  readonly earlierAttempts: number;
}

/**
 * Claims up to `limit` pending items, lowest positions first, for the runner
 * holding the lease (with `onlyAfterResume`, only if a resume has not been
 * taken up yet: a chunk past its budget claims only to answer a resume). The batch row is locked first and must be `running`:
 * this is the check that makes a paused or cancelled batch start nothing new,
 * whatever the interleaving with a control request. Call inside a transaction.
 */
export async function claimPendingItems(
  db: Queryable,
  batchId: string,
  runnerId: string,
  limit: number,
  options: { onlyAfterResume?: boolean } = {},
): Promise<{ status: string | null; leaseHeld: boolean; items: ClaimedItem[] }> {
  const row = await lockBatchById(db, batchId);
  if (!row) return { status: null, leaseHeld: false, items: [] };
  const leaseHeld = row.runner_id === runnerId;
  // Pause and cancel are enforced here: only a `running` batch hands out items.
  if (row.status !== "running" || !leaseHeld || limit <= 0) return { status: row.status, leaseHeld, items: [] };
  if (options.onlyAfterResume && row.resumed_at === null) return { status: row.status, leaseHeld, items: [] };

  const { rows } = await db.query<ClaimedItem>(
    `UPDATE batch_items SET status = 'generating', attempts = attempts + 1, started_at = now(), error = NULL, claimed_by = $3
     WHERE id IN (
       SELECT id FROM batch_items
       WHERE batch_id = $1 AND status = 'pending'
       ORDER BY position
       LIMIT $2
     )
     RETURNING id, position, attempts,
       (SELECT coalesce(sum((entry ->> 'attempts')::int), 0) FROM jsonb_array_elements(attempt_history) AS entry)::int AS "earlierAttempts"`,
    [batchId, limit, runnerId],
  );
  if (rows.length > 0) {
    // An item started: whatever resume armed the watchdog has been taken up.
    await db.query("UPDATE batch_jobs SET generating_items = generating_items + $2, resumed_at = NULL WHERE id = $1", [
      batchId,
      rows.length,
    ]);
  }
  rows.sort((a, b) => a.position - b.position);
  return { status: row.status, leaseHeld, items: rows };
}

/**
 * Stores a result and moves the counters in one statement (one transaction). Conditional on the
 * item still being `generating` and claimed by this runner: a runner whose lease was taken over
 * cannot count an item twice or overwrite one the new runner claimed again.
 */
export async function completeItem(
  db: Queryable,
  batchId: string,
  itemId: string,
  runnerId: string,
  result: GeneratedQuestion,
): Promise<boolean> {
  // The batch row is locked first, as every other writer does (claims, lease takeover): taking
  // the item first and the batch second could deadlock against a takeover.
  const { rowCount } = await db.query(
    `WITH batch AS (${lockBatchSql("$4")}),
     done AS (
       UPDATE batch_items SET status = 'completed', result = $3, error = NULL, finished_at = now(), claimed_by = NULL
       WHERE id = $1 AND status = 'generating' AND claimed_by = $2 AND batch_id = (SELECT id FROM batch)
       RETURNING batch_id
     )
     UPDATE batch_jobs SET generating_items = generating_items - 1, completed_items = completed_items + 1
     WHERE id = (SELECT batch_id FROM done)`,
    [itemId, runnerId, JSON.stringify(result), batchId],
  );
  return rowCount === 1;
}

/** Marks an item failed for good (its retries are spent or the error is permanent); same conditions. */
export async function failItem(db: Queryable, batchId: string, itemId: string, runnerId: string, error: string): Promise<boolean> {
  const { rowCount } = await db.query(
    `WITH batch AS (${lockBatchSql("$4")}),
     done AS (
       UPDATE batch_items SET status = 'failed', error = $3, finished_at = now(), claimed_by = NULL
       WHERE id = $1 AND status = 'generating' AND claimed_by = $2 AND batch_id = (SELECT id FROM batch)
       RETURNING batch_id
     )
     UPDATE batch_jobs SET generating_items = generating_items - 1, failed_items = failed_items + 1
     WHERE id = (SELECT batch_id FROM done)`,
    [itemId, runnerId, error.slice(0, 2_000), batchId],
  );
  return rowCount === 1;
}

/** Records one more attempt on an item that stays in its slot for a retry; false if it is no longer ours. */
export async function recordItemAttempt(db: Queryable, itemId: string, runnerId: string, error: string): Promise<boolean> {
  const { rowCount } = await db.query(
    "UPDATE batch_items SET attempts = attempts + 1, error = $3 WHERE id = $1 AND status = 'generating' AND claimed_by = $2",
    [itemId, runnerId, error.slice(0, 2_000)],
  );
  return rowCount === 1;
}

/**
 * Hands an item this runner claimed back to `pending` without using up an attempt (shutdown
 * interrupted its retry back-off); false if it is no longer ours.
 */
export async function releaseItem(db: Queryable, batchId: string, itemId: string, runnerId: string): Promise<boolean> {
  const { rowCount } = await db.query(
    `WITH batch AS (${lockBatchSql("$3")}),
     released AS (
       UPDATE batch_items SET status = 'pending', started_at = NULL, claimed_by = NULL, attempts = greatest(attempts - 1, 0)
       WHERE id = $1 AND status = 'generating' AND claimed_by = $2 AND batch_id = (SELECT id FROM batch)
       RETURNING batch_id
     )
     UPDATE batch_jobs SET generating_items = generating_items - 1 WHERE id = (SELECT batch_id FROM released)`,
    [itemId, runnerId, batchId],
  );
  return rowCount === 1;
}

/**
 * A paused batch whose runner died with items in flight: nobody will finish them, and nobody takes
 * the lease over until a resume, so they go back to `pending` now (at-least-once, as in a
 * takeover). Needs the batch row locked by the caller. Returns how many moved.
 */
export async function requeueItemsOfDeadRunner(db: Queryable, batchId: string): Promise<number> {
  const { rows } = await db.query<{ n: number }>(
    `WITH requeued AS (
       UPDATE batch_items SET status = 'pending', started_at = NULL, claimed_by = NULL
       WHERE batch_id = $1 AND status = 'generating'
       RETURNING id
     )
     UPDATE batch_jobs SET generating_items = generating_items - (SELECT count(*) FROM requeued), runner_id = NULL, runner_heartbeat_at = NULL
     WHERE id = $1 AND EXISTS (SELECT 1 FROM requeued)
     RETURNING (SELECT count(*) FROM requeued)::int AS n`,
    [batchId],
  );
  return rows[0]?.n ?? 0;
}

/**
 * Items left `generating` by a runner that died after its batch was
 * cancelled: nobody will finish them, so they are cancelled (no result).
 */
export async function cancelOrphanedItems(db: Queryable, batchId: string): Promise<number> {
  const { rows } = await db.query<{ n: number }>(
    `WITH batch AS (${lockBatchSql("$1")}),
     orphans AS (
       UPDATE batch_items SET status = 'cancelled', finished_at = now(), claimed_by = NULL,
         error = 'Interrupted: the worker stopped while the batch was being cancelled'
       WHERE batch_id = (SELECT id FROM batch) AND status = 'generating'
       RETURNING id
     )
     UPDATE batch_jobs SET generating_items = generating_items - (SELECT count(*) FROM orphans),
       cancelled_items = cancelled_items + (SELECT count(*) FROM orphans)
     WHERE id = $1 AND EXISTS (SELECT 1 FROM orphans)
     RETURNING (SELECT count(*) FROM orphans)::int AS n`,
    [batchId],
  );
  return rows[0]?.n ?? 0;
}

export async function listItemsByBatch(
  db: Queryable,
  batchId: string,
  page: { limit: number; afterPosition?: number; status?: BatchItemStatus },
): Promise<BatchItemRow[]> {
  const { rows } = await db.query<BatchItemRow>(
    `SELECT ${COLUMNS} FROM batch_items
     WHERE batch_id = $1 AND position > $2 AND ($3::text IS NULL OR status = $3)
     ORDER BY position
     LIMIT $4`,
    [batchId, page.afterPosition ?? -1, page.status ?? null, page.limit],
  );
  return rows;
}

/** Completion times of the most recent finished items: the observed rate behind the ETA. */
export async function recentFinishTimes(db: Queryable, batchId: string, sample: number): Promise<Date[]> {
  const { rows } = await db.query<{ finished_at: Date }>(
    `SELECT finished_at FROM batch_items
     WHERE batch_id = $1 AND status IN ('completed', 'failed') AND finished_at IS NOT NULL
     ORDER BY finished_at DESC
     LIMIT $2`,
    [batchId, sample],
  );
  return rows.map((row) => row.finished_at);
}
