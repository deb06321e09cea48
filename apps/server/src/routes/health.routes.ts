import { Router } from "express";
import type { Pool } from "@batchgen/db";

const HEALTH_DB_TIMEOUT_MS = 2_000;

/**
 * GET /health: 200 when the database answers within two seconds, 503 with the
 * reason otherwise. Never hangs: a stopped database must show up here quickly.
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
