import type { Pool } from "@batchgen/db";

/** How long ended runs are kept by default: 7 days (docs/decisions/engine-run-retention.md). */
export const DEFAULT_RUN_RETENTION_DAYS = 7;
/**
 * The shortest retention allowed: a day. Deleting a run never touches the run-key window (run keys
 * have their own 24 h, below), but with at least a day every run an event still stored started
 * stays visible under GET /v1/events/:eventId/runs.
 */
export const MIN_RUN_RETENTION_DAYS = 1;

/** Runs deleted per statement, and statements per pass (each its own short transaction). */
const RUNS_PER_BATCH = 100;
const RUN_BATCHES_PER_PASS = 20;

/**
 * Event ids only deduplicate runs for 24 h, so older events and run keys can go (runs keep their
 * own copy of their event). At most 10,000 of each per call, so one call stays short.
 */
export async function forgetOldEvents(pool: Pool): Promise<void> {
  await pool.query(
    `DELETE FROM engine.events WHERE id IN (SELECT id FROM engine.events WHERE received_at < now() - interval '24 hours' LIMIT 10000)`,
  );
  await pool.query(
    `DELETE FROM engine.run_keys WHERE (function_id, key) IN (
       SELECT function_id, key FROM engine.run_keys WHERE created_at < now() - interval '24 hours' LIMIT 10000)`,
  );
}

/**
 * Deletes runs that ended (completed, failed, cancelled) more than `retentionDays` ago, with all
 * their rows: steps, waits and jobs go with them (ON DELETE CASCADE). A running run is never
 * touched, however old, nor anything of it: a run parked on a wait or a sleep keeps its wait and
 * its job. An ended run that still has a job leased (a call in flight when it ended) is left for a
 * later pass. Run keys are not touched here: they keep their own 24 h deduplication window.
 *
 * At most RUNS_PER_BATCH runs per statement (SKIP LOCKED: a run another transaction holds is left
 * for the next pass), at most RUN_BATCHES_PER_PASS statements per call, oldest first. Returns the
 * number of runs deleted.
 */
export async function forgetEndedRuns(pool: Pool, retentionDays: number): Promise<number> {
  let deleted = 0;
  for (let batch = 0; batch < RUN_BATCHES_PER_PASS; batch += 1) {
    const { rowCount } = await pool.query(
      `DELETE FROM engine.runs WHERE id IN (
         SELECT r.id FROM engine.runs r
         WHERE r.status <> 'running' AND r.ended_at < now() - make_interval(secs => $1::double precision * 86400)
           AND NOT EXISTS (SELECT 1 FROM engine.jobs j WHERE j.run_id = r.id AND j.lease_owner IS NOT NULL)
         ORDER BY r.ended_at
         LIMIT $2
         FOR UPDATE OF r SKIP LOCKED)`,
      [retentionDays, RUNS_PER_BATCH],
    );
    deleted += rowCount ?? 0;
    if ((rowCount ?? 0) < RUNS_PER_BATCH) break;
  }
  return deleted;
}
