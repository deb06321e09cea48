import pg from "pg";

export type Pool = pg.Pool;
export type PoolClient = pg.PoolClient;

export interface CreatePoolOptions {
  readonly max?: number;
  readonly applicationName?: string;
  /** Called when an idle client errors (for example 57P01 when the server stops). */
  readonly onIdleError?: (error: Error) => void;
}

/**
 * A pg pool that never crashes the process when the server goes away: idle
 * clients emit 'error' on shutdown (57P01), and an unhandled 'error' event
 * would throw.
 */
export function createPool(connectionString: string, options: CreatePoolOptions = {}): pg.Pool {
  const pool = new pg.Pool({
    connectionString,
    max: options.max ?? 10,
    application_name: options.applicationName ?? "batchgen",
    connectionTimeoutMillis: 5_000,
    idleTimeoutMillis: 30_000,
  });
  pool.on("error", (error) => options.onIdleError?.(error));
  return pool;
}

/** Runs `fn` inside BEGIN/COMMIT on one client, rolling back on any error. */
export async function withTransaction<T>(
  pool: pg.Pool,
  fn: (client: pg.PoolClient) => Promise<T>,
): Promise<T> {
  const client = await pool.connect();
  try {
    await client.query("BEGIN");
    const result = await fn(client);
    await client.query("COMMIT");
    return result;
  } catch (error) {
    await client.query("ROLLBACK").catch(() => undefined);
    throw error;
  } finally {
    client.release();
  }
}
