import { batchFinishedEvent, batchStartedEvent, type BatchConfig, type BatchStatus } from "@batchgen/types";
import type { Queryable } from "./db.ts";
import { enqueueEvent } from "./event-outbox.repository.ts";

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
  /** The fencing token of the batch's orchestrator chain (docs/decisions/one-orchestrator-per-batch.md). */
  orchestrator_epoch: number;
  /** Set by a resume until a runner of the current chain takes the lease: arms the resume watchdog. */
  resumed_at: Date | null;
  /** Bumped by every visible change, in commit order (node-postgres returns bigint as a string). */
  version: string;
  /** created_at with its full microsecond precision (a JS Date keeps milliseconds), for cursors. */
  created_key: string;
}

const COLUMNS = `id, user_id, institution_id, status, total_items, completed_items, failed_items,
  cancelled_items, generating_items, config, created_at, started_at, paused_at, cancelled_at,
  finished_at, updated_at, runner_id, runner_heartbeat_at, orchestrator_epoch, resumed_at, version,
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

/**
 * The batch row lock, as SQL: every change to a batch or to its items takes it first, in this one
 * form, so they serialize (a claim and a pause, a completion and a cancel) and always lock in the
 * same order — the batch row before any item row. `FOR NO KEY UPDATE` excludes the other lockers
 * and leaves the foreign-key checks of inserted items and audit rows alone. `idParam` is the
 * statement's placeholder for the batch id; used as a CTE where one statement must lock and write.
 */
export function lockBatchSql(idParam: string, columns = "id"): string {
  return `SELECT ${columns} FROM batch_jobs WHERE id = ${idParam} FOR NO KEY UPDATE`;
}

/** Takes the batch row lock (lockBatchSql) for the rest of the caller's transaction and reads the row. */
export async function lockBatchById(db: Queryable, batchId: string): Promise<BatchJobRow | null> {
  const { rows } = await db.query<BatchJobRow>(lockBatchSql("$1", COLUMNS), [batchId]);
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
       resumed_at = CASE WHEN $2 = 'running' THEN now() ELSE NULL END,
       cancelled_at = CASE WHEN $2 = 'cancelled' THEN now() ELSE cancelled_at END,
       cancelled_items = cancelled_items + $3
     WHERE id = $1
     RETURNING ${COLUMNS}`,
    [batchId, to, cancelledNow],
  );
  return rows[0]!;
}

/**
 * Starts a new orchestrator chain in the caller's transaction: bumps the batch's epoch (every run
 * of an older chain returns at once from its next step, and a parked one is cancelled by the new
 * `batch.started`) and writes that event to the outbox. Returns the outbox row to flush after commit.
 */
export async function startOrchestratorChain(db: Queryable, batchId: string): Promise<{ epoch: number; outboxId: string } | null> {
  const { rows } = await db.query<{ orchestrator_epoch: number }>(
    `UPDATE batch_jobs SET orchestrator_epoch = orchestrator_epoch + 1, orchestrator_started_at = now(), resumed_at = NULL
     WHERE id = $1 RETURNING orchestrator_epoch`,
    [batchId],
  );
  const epoch = rows[0]?.orchestrator_epoch;
  if (epoch === undefined) return null;
  const outboxId = await enqueueEvent(db, batchStartedEvent(batchId, epoch));
  return { epoch, outboxId };
}

/**
 * Retry the failed items, in the caller's transaction (batch row locked): each failed item goes
 * back to `pending` with a fresh attempt budget, what its attempts ended with appended to its
 * `attempt_history` and its last error kept until it is claimed again; the batch is `running`
 * again (not finished). Completed and cancelled items are not touched. Returns how many moved.
 */
export async function requeueFailedItems(db: Queryable, batchId: string): Promise<number> {
  const { rows } = await db.query<{ n: number }>(
    `WITH moved AS (
       UPDATE batch_items SET status = 'pending', attempts = 0, started_at = NULL, finished_at = NULL, claimed_by = NULL,
         attempt_history = attempt_history || jsonb_build_array(jsonb_build_object('attempts', attempts, 'error', error, 'finishedAt', finished_at))
       WHERE batch_id = $1 AND status = 'failed'
       RETURNING 1
     )
     UPDATE batch_jobs SET status = 'running', failed_items = failed_items - (SELECT count(*) FROM moved),
       finished_at = NULL, paused_at = NULL, resumed_at = NULL
     WHERE id = $1
     RETURNING (SELECT count(*) FROM moved)::int AS n`,
    [batchId],
  );
  return rows[0]?.n ?? 0;
}

export interface CloseOut {
  /** The batch after the close-out (locked by the caller's transaction). */
  readonly batch: BatchJobRow;
  /** The outbox row of `batch.finished` when this call ended the batch; flush it after commit. */
  readonly finishedOutboxId: string | null;
}

/**
 * The one place a batch ends, in the caller's transaction (it locks the row): a running or paused
 * batch with nothing pending and nothing in flight becomes completed, completed_with_errors or
 * failed (from paused it is a system transition, recorded in the history without an actor); a
 * cancelled batch with nothing in flight gets `finished_at`. Every end writes `batch.finished` to
 * the outbox in the same transaction, so the announcement cannot be lost. Conditional on the
 * status read under the lock, so a completion never overwrites a cancel nor the reverse.
 */
export async function closeOutBatch(db: Queryable, batchId: string): Promise<CloseOut | null> {
  const batch = await lockBatchById(db, batchId);
  if (!batch) return null;
  const nothingLeft =
    batch.generating_items === 0 && batch.completed_items + batch.failed_items + batch.cancelled_items === batch.total_items;
  let ended: BatchJobRow | undefined;
  if ((batch.status === "running" || batch.status === "paused") && nothingLeft) {
    const { rows } = await db.query<BatchJobRow>(
      `UPDATE batch_jobs SET
         status = CASE WHEN failed_items = 0 THEN 'completed' WHEN completed_items = 0 THEN 'failed' ELSE 'completed_with_errors' END,
         finished_at = now(), runner_id = NULL, runner_heartbeat_at = NULL, resumed_at = NULL
       WHERE id = $1 RETURNING ${COLUMNS}`,
      [batchId],
    );
    ended = rows[0]!;
    if (batch.status === "paused") {
      await db.query(
        `INSERT INTO batch_control_events (batch_id, actor_id, action, previous_status, new_status, reason, created_at)
         VALUES ($1, NULL, 'complete', 'paused', $2, 'Nothing was left to generate when the items in flight at the pause finished', clock_timestamp())`,
        [batchId, ended.status],
      );
    }
  } else if (batch.status === "cancelled" && batch.generating_items === 0 && batch.finished_at === null) {
    // status is in the SET list so the progress trigger tells live pages the batch has ended.
    const { rows } = await db.query<BatchJobRow>(
      `UPDATE batch_jobs SET status = 'cancelled', finished_at = now(), runner_id = NULL, runner_heartbeat_at = NULL, resumed_at = NULL
       WHERE id = $1 RETURNING ${COLUMNS}`,
      [batchId],
    );
    ended = rows[0]!;
  }
  if (!ended) return { batch, finishedOutboxId: null };
  const finishedOutboxId = await enqueueEvent(db, batchFinishedEvent({ batchId, status: ended.status }, ended.orchestrator_epoch));
  return { batch: ended, finishedOutboxId };
}

export type RunnerLeaseResult =
  | { readonly acquired: true; readonly batch: BatchJobRow; readonly requeued: number }
  | {
      readonly acquired: false;
      readonly batch: BatchJobRow | null;
      /** A live runner holds the lease. */
      readonly heldBy: string | null;
      /** The caller's chain is no longer the batch's: a newer epoch was started. */
      readonly superseded: boolean;
    };

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
 * Takes the batch's runner lease for a step of the chain with `epoch`, unless that chain was
 * superseded (checked first, so a stale run touches nothing) or another runner heartbeated within
 * `staleAfterMs` (by the database's clock: API hosts may disagree). Taking the lease disarms the
 * resume watchdog. Taking it over from a dead runner puts that runner's `generating` items back to
 * `pending` in the same transaction — only while the batch is active: on a cancelled or finished
 * batch nothing may become pending again (the close-out cancels orphans of a cancelled batch).
 */
export async function acquireRunnerLease(
  db: Queryable,
  batchId: string,
  runnerId: string,
  staleAfterMs: number,
  epoch: number,
): Promise<RunnerLeaseResult> {
  const batch = await lockBatchById(db, batchId);
  if (!batch) return { acquired: false, batch: null, heldBy: null, superseded: false };
  if (batch.orchestrator_epoch !== epoch) return { acquired: false, batch, heldBy: null, superseded: true };
  if (batch.status !== "running" && batch.status !== "paused") return { acquired: false, batch, heldBy: null, superseded: false };
  const live = batch.runner_id !== null && batch.runner_id !== runnerId && (await isRunnerLeaseFresh(db, batchId, staleAfterMs));
  if (live) return { acquired: false, batch, heldBy: batch.runner_id, superseded: false };

  const requeued = await db.query(
    `UPDATE batch_items SET status = 'pending', started_at = NULL, claimed_by = NULL
     WHERE batch_id = $1 AND status = 'generating'`,
    [batchId],
  );
  const count = requeued.rowCount ?? 0;
  // Counters are in the SET list only when something moved: each counter update notifies live pages.
  const { rows } = await db.query<BatchJobRow>(
    count > 0
      ? `UPDATE batch_jobs SET runner_id = $2, runner_heartbeat_at = now(), resumed_at = NULL, generating_items = generating_items - $3
         WHERE id = $1 RETURNING ${COLUMNS}`
      : `UPDATE batch_jobs SET runner_id = $2, runner_heartbeat_at = now(), resumed_at = NULL WHERE id = $1 RETURNING ${COLUMNS}`,
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

/**
 * The end of a chunk, in the caller's transaction: closes the batch out if nothing is left, then
 * releases the lease, under the row lock. The status it returns is the one the chain acts on, and
 * a resume takes the same lock: either the resume came first and the chain carries on, or the
 * chain parks first and the resume finds no runner, which the resume watchdog covers.
 */
export async function endChunk(db: Queryable, batchId: string, runnerId: string): Promise<CloseOut | null> {
  const closed = await closeOutBatch(db, batchId);
  if (!closed) return null;
  if (closed.batch.runner_id !== runnerId) return closed;
  const { rows } = await db.query<BatchJobRow>(
    `UPDATE batch_jobs SET runner_id = NULL, runner_heartbeat_at = NULL WHERE id = $1 RETURNING ${COLUMNS}`,
    [batchId],
  );
  return { batch: rows[0]!, finishedOutboxId: closed.finishedOutboxId };
}

export async function releaseRunnerLease(db: Queryable, batchId: string, runnerId: string): Promise<void> {
  await db.query(
    "UPDATE batch_jobs SET runner_id = NULL, runner_heartbeat_at = NULL WHERE id = $1 AND runner_id = $2",
    [batchId, runnerId],
  );
}
