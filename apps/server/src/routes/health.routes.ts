import { Router } from "express";
import { createPool, type Pool } from "@batchgen/db";

const HEALTH_DB_TIMEOUT_MS = 2_000;

/**
 * The health check's own connection to the database: a pool of one, apart from the main pool.
 * On the main pool the check's `SELECT 1` queued behind every request in flight, so a busy pool
 * (all connections taken, requests waiting) answered 503 "database down" and a balancer or a
 * liveness probe dropped or restarted a healthy API. Connecting, waiting for the one connection
 * and the query itself are each bounded by the check's two seconds (a query past them discards the
 * connection: a half-open one is not reused); the connection closes after 10 s without a probe.
 */
export function createHealthPool(databaseUrl: string, onIdleError?: (error: Error) => void): Pool {
  return createPool(databaseUrl, {
    max: 1,
    applicationName: "batchgen-api-health",
    onIdleError,
    connectionTimeoutMillis: HEALTH_DB_TIMEOUT_MS,
    idleTimeoutMillis: 10_000,
    queryTimeoutMillis: HEALTH_DB_TIMEOUT_MS,
  });
}

/**
 * GET /health: 200 when the database answers within two seconds, 503 with the
 * reason otherwise. Never hangs: a stopped database must show up here quickly.
 * `pool` is the check's own (createHealthPool), so a busy main pool does not read as a database that is down.
 */
export function createHealthRouter(pool: Pool): Router {
  const router = Router();
  router.get("/health", async (_req, res) => {
    const started = Date.now();
    let timer: NodeJS.Timeout | undefined;
    try {
      await Promise.race([
        pool.query("SELECT 1"),
        new Promise((_resolve, reject) => {
          timer = setTimeout(() => reject(new Error("database did not answer in time")), HEALTH_DB_TIMEOUT_MS);
        }),
      ]);
      res.json({ data: { status: "ok", database: { status: "ok", latencyMs: Date.now() - started } }, error: null });
    } catch (error) {
      res.status(503).json({
        data: null,
        error: {
          code: "UNAVAILABLE",
          message: "The database is not reachable",
          details: { database: { status: "down", reason: error instanceof Error ? error.message : String(error) } },
        },
      });
    } finally {
      clearTimeout(timer);
    }
  });
  return router;
}
