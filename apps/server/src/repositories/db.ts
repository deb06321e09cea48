import type { Pool, PoolClient } from "@batchgen/db";

/** Anything that can run a query: the pool, or a client inside a transaction. */
export type Queryable = Pick<Pool, "query"> | PoolClient;
