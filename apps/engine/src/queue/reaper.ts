import type { Pool } from "@batchgen/db";
import { inTransaction, LEASE_LOCK_NAMESPACE } from "../store/tx.ts";

/**
 * Hands back leases that nobody works on any more, so their jobs run again (at least once):
 * - leases of engine processes that died (their instance lock, see instance-lock.ts, is gone);
 * - this process's own leases that none of its jobs in `running` holds: the work failed while the
 *   database was unreachable, and handing the lease back failed too. (The age keeps jobs that a
 *   transaction has just leased, and that are about to be dispatched, out of it.)
 * Returns true when anything was handed back, so the caller wakes its lease loop.
 */
export async function reapLeases(pool: Pool, log: (line: string) => void, owner: number, running: ReadonlySet<string>): Promise<boolean> {
  let handedBack = false;
  const { rows } = await pool.query<{ owner: number }>(
    `SELECT DISTINCT j.lease_owner AS owner FROM engine.jobs j
     WHERE j.lease_owner IS NOT NULL AND j.lease_owner <> $2 AND NOT EXISTS (
       SELECT 1 FROM pg_locks l WHERE l.locktype = 'advisory' AND l.classid = $1::int::oid
         AND l.objid = j.lease_owner::oid AND l.objsubid = 2 AND l.granted)`,
    [LEASE_LOCK_NAMESPACE, owner],
  );
  for (const dead of rows) {
    const { value } = await inTransaction(pool, log, async (tx) => {
      const result = await tx.client.query(`UPDATE engine.jobs SET lease_owner = NULL, leased_at = NULL WHERE lease_owner = $1`, [dead.owner]);
      tx.wake = true;
      return result.rowCount ?? 0;
    });
    if (value > 0) log(`engine reclaimed ${value} job(s) from a stopped engine process (#${dead.owner})`);
    handedBack = true;
  }
  const { rowCount } = await pool.query(
    `UPDATE engine.jobs SET lease_owner = NULL, leased_at = NULL
     WHERE lease_owner = $1 AND leased_at < clock_timestamp() - interval '5 seconds' AND NOT (id = ANY($2::bigint[]))`,
    [owner, [...running]],
  );
  if (rowCount) {
    log(`engine handed back ${rowCount} of its own job(s) left behind by a database error`);
    handedBack = true;
  }
  return handedBack;
}

/** Hands one job of this process back after its work failed, to be tried again in a second. */
export async function handBackLease(pool: Pool, jobId: string, owner: number): Promise<void> {
  await pool.query(
    `UPDATE engine.jobs SET lease_owner = NULL, leased_at = NULL, run_at = clock_timestamp() + interval '1 second' WHERE id = $1 AND lease_owner = $2`,
    [jobId, owner],
  );
}
