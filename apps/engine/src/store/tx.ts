import { withTransaction, type Pool, type PoolClient } from "@batchgen/db";

/** What a piece of engine logic needs inside one transaction. */
export interface Tx {
  readonly client: PoolClient;
  readonly log: (line: string) => void;
  /** Set when the transaction created work that is due now, so the worker is woken after commit. */
  wake: boolean;
}

const RETRYABLE_CODES = new Set(["40001", "40P01"]);

/**
 * Runs `fn` in one transaction, retrying on serialization failures and deadlocks, and sends
 * NOTIFY engine_jobs with the commit when new work became due (other engine processes listen).
 */
export async function inTransaction<T>(pool: Pool, log: (line: string) => void, fn: (tx: Tx) => Promise<T>): Promise<{ value: T; wake: boolean }> {
  for (let attempt = 0; ; attempt += 1) {
    try {
      return await withTransaction(pool, async (client) => {
        const tx: Tx = { client, log, wake: false };
        const value = await fn(tx);
        if (tx.wake) await client.query("NOTIFY engine_jobs");
        return { value, wake: tx.wake };
      });
    } catch (error) {
      const code = (error as { code?: string }).code;
      if (attempt < 5 && code !== undefined && RETRYABLE_CODES.has(code)) continue;
      throw error;
    }
  }
}
