import pg from "pg";

export type Pool = pg.Pool;
export type PoolClient = pg.PoolClient;

export interface CreatePoolOptions {
  readonly max?: number;
  readonly applicationName?: string;
  /** Called when an idle client errors (for example 57P01 when the server stops). */
  readonly onIdleError?: (error: Error) => void;
  /** How long to wait for a connection (a new one, or a pooled one to come free); default 5 s. */
  readonly connectionTimeoutMillis?: number;
  /** How long an unused connection stays open; default 30 s. */
  readonly idleTimeoutMillis?: number;
  /**
   * Client-side bound on one query (pg's `query_timeout`); none by default. A query past it fails,
   * and `pool.query()` then discards its connection instead of pooling it.
   */
  readonly queryTimeoutMillis?: number;
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
    connectionTimeoutMillis: options.connectionTimeoutMillis ?? 5_000,
    idleTimeoutMillis: options.idleTimeoutMillis ?? 30_000,
    ...(options.queryTimeoutMillis === undefined ? {} : { query_timeout: options.queryTimeoutMillis }),
    // A connection left half-open (a failover, a NAT timeout) must end in an error, not a query
    // that waits for ever; the runner also bounds each turn of its window (tickTimeoutMs).
    keepAlive: true,
    keepAliveInitialDelayMillis: 10_000,
  });
  pool.on("error", (error) => options.onIdleError?.(error));
  return pool;
}

/**
 * Checks a client out for `fn`. While checked out, pg-pool removes its own 'error' listener, and
 * a connection that dies between queries (the server stopped) emits 'error' — with no listener,
 * that kills the process. So a listener is attached for the duration, and a broken client is
 * destroyed on release instead of going back to the pool.
 */
export async function withClient<T>(pool: pg.Pool, fn: (client: pg.PoolClient) => Promise<T>): Promise<T> {
  const client = await pool.connect();
  let broken: Error | undefined;
  const onError = (error: Error) => {
    broken = error;
  };
  client.on("error", onError);
  try {
    return await fn(client);
  } finally {
    client.removeListener("error", onError);
    client.release(broken);
  }
}

/** Runs `fn` inside BEGIN/COMMIT on one client, rolling back on any error. */
export async function withTransaction<T>(pool: pg.Pool, fn: (client: pg.PoolClient) => Promise<T>): Promise<T> {
  return withClient(pool, async (client) => {
    try {
      await client.query("BEGIN");
      const result = await fn(client);
      await client.query("COMMIT");
      return result;
    } catch (error) {
      await client.query("ROLLBACK").catch(() => undefined);
      throw error;
    }
  });
}
