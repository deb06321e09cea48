import type { Pool } from "@batchgen/db";
import { inTransaction, LEASE_LOCK_NAMESPACE, type LeasedJob } from "../store/tx.ts";

interface CandidateJob extends LeasedJob {
  readonly ckeys: string[];
  readonly climits: number[];
}

/**
 * Leases up to `limit` due jobs to `owner` with FOR UPDATE SKIP LOCKED, honouring per-key
 * concurrency limits: only leased calls count against a key, and a transaction-scoped advisory
 * lock (the one scheduleCall and engine.apply_step_run take too) makes the count exact across
 * engine processes.
 */
export async function leaseDueJobs(pool: Pool, log: (line: string) => void, owner: number, limit: number): Promise<LeasedJob[]> {
  const { value } = await inTransaction(pool, log, async (tx) => {
    await tx.client.query("SELECT pg_advisory_xact_lock($1, 0)", [LEASE_LOCK_NAMESPACE]);
    const { rows: activeRows } = await tx.client.query<{ k: string; n: number }>(
      `SELECT k, count(*)::int AS n FROM engine.jobs a, unnest(a.ckeys) k WHERE a.lease_owner IS NOT NULL GROUP BY k`,
    );
    const active = new Map(activeRows.map((row) => [row.k, row.n]));
    const { rows } = await tx.client.query<CandidateJob>(
      `SELECT j.id, j.run_id, j.kind, j.step_id, j.attempt, j.conn_errors, j.job_key, j.ckeys, j.climits
       FROM engine.jobs j
       WHERE j.lease_owner IS NULL AND j.run_at <= clock_timestamp()
         AND NOT EXISTS (
           SELECT 1 FROM unnest(j.ckeys, j.climits) c(k, l)
           WHERE (SELECT count(*) FROM engine.jobs a WHERE a.lease_owner IS NOT NULL AND c.k = ANY(a.ckeys)) >= c.l)
       ORDER BY j.run_at, j.id
       LIMIT $1
       FOR UPDATE OF j SKIP LOCKED`,
      [limit],
    );
    const chosen: CandidateJob[] = [];
    for (const job of rows) {
      const blocked = job.ckeys.some((key, index) => (active.get(key) ?? 0) >= (job.climits[index] ?? Infinity));
      if (blocked) continue;
      for (const key of job.ckeys) active.set(key, (active.get(key) ?? 0) + 1);
      chosen.push(job);
    }
    if (chosen.length > 0) {
      await tx.client.query(`UPDATE engine.jobs SET lease_owner = $2, leased_at = clock_timestamp() WHERE id = ANY($1)`, [
        chosen.map((job) => job.id),
        owner,
      ]);
    }
    return chosen;
  });
  return value;
}
