import { toStorableText, type BatchItemStatus, type BatchStatus, type GeneratedQuestion } from "@batchgen/types";
import { lockBatchSql } from "./batch-job.repository.ts";
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
 * The question as stored: its known fields only, so a key a generator added (which could hold a
 * NUL that jsonb refuses) never reaches the database and cannot fail the tick that carries it.
 */
export function storedQuestion(question: GeneratedQuestion): GeneratedQuestion {
  return {
    stem: question.stem,
    options: question.options.map((option) => ({ label: option.label, text: option.text })),
    answer: question.answer,
    explanation: question.explanation,
  };
}

/** The SQL function every runner calls, with its argument types (for the startup check). */
const RUNNER_TICK = "public.runner_tick(uuid, text, jsonb, integer, boolean)";

/**
 * Refuses to start an API whose database lacks `runner_tick` (migrations not applied) or whose
 * role may not execute it: otherwise every chunk would fail at its first tick and batches would
 * stall with nothing but retries in the log.
 */
export async function assertRunnerTickCallable(db: Queryable): Promise<void> {
  const { rows } = await db.query<{ present: boolean; allowed: boolean | null; role: string }>(
    `SELECT to_regprocedure($1) IS NOT NULL AS present,
       CASE WHEN to_regprocedure($1) IS NULL THEN NULL ELSE has_function_privilege(current_user, $1, 'EXECUTE') END AS allowed,
       current_user AS role`,
    [RUNNER_TICK],
  );
  const row = rows[0]!;
  if (!row.present) {
    throw new Error(`The database has no ${RUNNER_TICK}: apply the migrations first (pnpm db:migrate, or supabase db push)`);
  }
  if (!row.allowed) {
    throw new Error(`The database role "${row.role}" may not execute ${RUNNER_TICK}: connect as the role that applied the migrations, or GRANT EXECUTE ON FUNCTION ${RUNNER_TICK} TO "${row.role}"`);
  }
}

/** An item whose generation ended, waiting to be stored by the runner's next tick. */
export type FinishedItem =
  | { readonly id: string; readonly status: "completed"; readonly result: GeneratedQuestion }
  | { readonly id: string; readonly status: "failed"; readonly error: string };

export interface RunnerTick {
  /** The batch's status under its row lock; null when the batch does not exist. */
  readonly status: BatchStatus | null;
  readonly leaseHeld: boolean;
  /** Ids of the finished items stored (an item no longer claimed by this runner is not). */
  readonly stored: ReadonlySet<string>;
  /** The items claimed, lowest positions first. */
  readonly items: ClaimedItem[];
}

/**
 * One turn of a runner's sliding window, in one round trip and one transaction (the SQL function
 * `runner_tick`, supabase/migrations/20261210100000_runner_tick.sql): under the batch row lock, it
 * stores the items that finished since the last turn, claims up to `claim` pending items (lowest
 * positions first) if the batch is `running` and the lease is this runner's (with
 * `onlyAfterResume`, only to answer a resume not yet taken up: a chunk past its budget), and moves
 * the batch's counters once. The lock is what makes a paused or cancelled batch start nothing new,
 * whatever the interleaving with a control request; storing requires the item to be `generating`
 * and claimed by this runner, so a runner whose lease was taken over cannot count an item twice or
 * overwrite one the new runner claimed again.
 */
export async function runnerTick(
  db: Queryable,
  batchId: string,
  runnerId: string,
  finished: readonly FinishedItem[],
  claim: number,
  options: { onlyAfterResume?: boolean } = {},
): Promise<RunnerTick> {
  const payload = finished.map((item) =>
    item.status === "completed"
      ? { id: item.id, status: item.status, result: item.result, error: null }
      : { id: item.id, status: item.status, result: null, error: item.error.slice(0, 2_000) },
  );
  const { rows } = await db.query<{
    tick: { status: BatchStatus | null; leaseHeld: boolean; stored: string[]; items: ClaimedItem[] };
  }>("SELECT runner_tick($1, $2, $3, $4, $5) AS tick", [
    batchId,
    runnerId,
    // A model's answer or a provider's message may hold a NUL or a lone surrogate, which jsonb
    // refuses: stored with U+FFFD instead, rather than failing the whole tick.
    JSON.stringify(payload, (_key, value: unknown) => (typeof value === "string" ? toStorableText(value) : value)),
    Math.max(0, claim),
    options.onlyAfterResume ?? false,
  ]);
  const tick = rows[0]!.tick;
  return { status: tick.status, leaseHeld: tick.leaseHeld, stored: new Set(tick.stored), items: tick.items };
}

/** Records one more attempt on an item that stays in its slot for a retry; false if it is no longer ours. */
export async function recordItemAttempt(db: Queryable, itemId: string, runnerId: string, error: string): Promise<boolean> {
  const { rowCount } = await db.query(
    "UPDATE batch_items SET attempts = attempts + 1, error = $3 WHERE id = $1 AND status = 'generating' AND claimed_by = $2",
    [itemId, runnerId, toStorableText(error.slice(0, 2_000))],
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
