import { withTransaction, type Pool, type PoolClient } from "@batchgen/db";

/** First key of the engine's advisory locks; (namespace, 0) serialises leasing decisions. */
export const LEASE_LOCK_NAMESPACE = 0x656e67;

/** A job this engine process holds the lease of. */
export interface LeasedJob {
  readonly id: string;
  readonly run_id: string;
  readonly kind: "call" | "sleep" | "wait_timeout";
  readonly step_id: string;
  readonly attempt: number;
  readonly conn_errors: number;
  /** Inngest's queue-item key for this job (x-inngest-job-id); NULL on rows from before it existed. */
  readonly job_key: string | null;
  /** Set when the job was leased by a step-result transaction: what its request needs from the run. */
  hint?: RunHint;
}

export interface RunHint {
  readonly event: unknown;
  readonly functionId: string;
  readonly reqVersion: number;
  readonly disableImmediate: boolean;
  /** Number of memoized steps once the leasing transaction commits. */
  readonly stackSize: number;
}

/** A memo committed by a transaction, so the worker can keep its cache of run state current. */
export interface CommittedMemo {
  readonly runId: string;
  readonly position: number;
  readonly id: string;
  readonly memo: unknown;
}

/** What a piece of engine logic needs inside one transaction. */
export interface Tx {
  readonly client: PoolClient;
  readonly log: (line: string) => void;
  /** When set, calls that are due now are leased to this engine process in the same transaction. */
  readonly owner?: number;
  /** Jobs leased in this transaction, to be run after it commits. */
  readonly leased: LeasedJob[];
  /** Memos this transaction added, and runs it ended. */
  readonly memos: CommittedMemo[];
  readonly ended: string[];
  /** Set when the transaction queued work it did not lease: the worker wakes to pick it up or to recompute its next wake-up. */
  wake: boolean;
}

export interface TransactionOptions {
  readonly owner?: number;
}

export interface TransactionResult<T> {
  readonly value: T;
  readonly wake: boolean;
  readonly leased: LeasedJob[];
  readonly memos: CommittedMemo[];
  readonly ended: string[];
}

const RETRYABLE_CODES = new Set(["40001", "40P01"]);

/**
 * Runs `fn` in one transaction, retrying on serialization failures and deadlocks, and sends
 * NOTIFY engine_jobs with the commit when new work became due (other engine processes listen).
 */
export async function inTransaction<T>(
  pool: Pool,
  log: (line: string) => void,
  fn: (tx: Tx) => Promise<T>,
  options: TransactionOptions = {},
): Promise<TransactionResult<T>> {
  for (let attempt = 0; ; attempt += 1) {
    try {
      return await withTransaction(pool, async (client) => {
        const tx: Tx = { client, log, owner: options.owner, leased: [], memos: [], ended: [], wake: false };
        const value = await fn(tx);
        if (tx.wake) await client.query("NOTIFY engine_jobs");
        return { value, wake: tx.wake, leased: tx.leased, memos: tx.memos, ended: tx.ended };
      });
    } catch (error) {
      const code = (error as { code?: string }).code;
      if (attempt < 5 && code !== undefined && RETRYABLE_CODES.has(code)) continue;
      throw error;
    }
  }
}
