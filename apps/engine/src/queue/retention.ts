import type { Pool } from "@batchgen/db";

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
