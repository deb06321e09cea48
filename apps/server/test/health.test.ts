import { createServer, type Server, type Socket } from "node:net";
import type { AddressInfo } from "node:net";
import type { PoolClient } from "@batchgen/db";
import express from "express";
import pg from "pg";
import request from "supertest";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createHealthPool, createHealthRouter } from "../src/routes/health.routes.ts";
import { startPipelineHarness, type PipelineHarness } from "./support/pipeline.ts";

// GET /health on the real app and real PostgreSQL: a busy main pool is not a database that is down
// (its check has a connection of its own), and a database that really is unreachable still is.
let h: PipelineHarness;

beforeAll(async () => {
  h = await startPipelineHarness();
});
afterAll(async () => {
  await h?.close();
});

describe("GET /health while the main pool is exhausted", () => {
  it("answers 200 at once, on one connection of its own, while every pooled connection is held and requests queue", async () => {
    const size = h.pool.options.max;
    const held: PoolClient[] = [];
    try {
      // Every connection of the main pool taken and not released: anything else on it now waits.
      for (let i = 0; i < size; i++) held.push(await h.pool.connect());
      expect(h.pool.totalCount).toBe(size);
      expect(h.pool.idleCount).toBe(0);
      const queued = h.pool.query("SELECT 1").catch(() => undefined);
      expect(h.pool.waitingCount).toBeGreaterThan(0);

      for (let probe = 0; probe < 3; probe++) {
        const started = Date.now();
        const response = await fetch(`${h.apiUrl}/health`);
        const elapsed = Date.now() - started;
        const body = (await response.json()) as { data: { status: string; database: { status: string } } | null };
        expect(response.status, JSON.stringify(body)).toBe(200);
        expect(body.data).toMatchObject({ status: "ok", database: { status: "ok" } });
        expect(elapsed).toBeLessThan(1_000);
      }

      // The check's own connection, and only one, whatever the number of probes.
      const probe = new pg.Client({ connectionString: h.db.url });
      await probe.connect();
      try {
        const { rows } = await probe.query<{ n: number }>(
          "SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = current_database() AND application_name = 'batchgen-api-health'",
        );
        expect(rows[0]!.n).toBe(1);
      } finally {
        await probe.end();
      }
      for (const client of held.splice(0)) client.release();
      await queued;
    } finally {
      for (const client of held) client.release();
    }
  });
});

describe("GET /health when the database is unreachable", () => {
  const appOn = (url: string) => {
    const pool = createHealthPool(url);
    const app = express();
    app.use(createHealthRouter(pool));
    return { app, pool };
  };

  it("a refused connection is 503 with the reason, at once", async () => {
    // A port nobody listens on: take a free one and close it again.
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, "127.0.0.1", resolve));
    const port = (closed.address() as AddressInfo).port;
    await new Promise((resolve) => closed.close(resolve));

    const { app, pool } = appOn(`postgres://postgres@127.0.0.1:${port}/postgres`);
    try {
      const started = Date.now();
      const response = await request(app).get("/health");
      expect(response.status).toBe(503);
      expect(response.body).toMatchObject({ data: null, error: { code: "UNAVAILABLE", details: { database: { status: "down" } } } });
      expect(response.body.error.details.database.reason).toMatch(/ECONNREFUSED|connect/);
      expect(Date.now() - started).toBeLessThan(1_500);
    } finally {
      await pool.end();
    }
  });

  it("a database that takes the connection but never answers is 503 within the check's two seconds, and again on the next probe", async () => {
    const sockets = new Set<Socket>();
    const silent: Server = createServer((socket) => {
      sockets.add(socket);
      socket.on("error", () => undefined);
    });
    await new Promise<void>((resolve) => silent.listen(0, "127.0.0.1", resolve));
    const { app, pool } = appOn(`postgres://postgres@127.0.0.1:${(silent.address() as AddressInfo).port}/postgres`);
    try {
      for (let probe = 0; probe < 2; probe++) {
        const started = Date.now();
        const response = await request(app).get("/health");
        const elapsed = Date.now() - started;
        expect(response.status).toBe(503);
        expect(response.body.error.details.database.status).toBe("down");
        expect(elapsed).toBeGreaterThanOrEqual(1_900);
        expect(elapsed).toBeLessThan(3_000);
      }
    } finally {
      for (const socket of sockets) socket.destroy();
      await pool.end().catch(() => undefined);
      await new Promise((resolve) => silent.close(resolve));
    }
  });
});
