import { randomUUID } from "node:crypto";
import { createPool, findFreePort, type Pool } from "@batchgen/db";
import { createTestDatabase, type TestDatabase } from "@batchgen/db/testing";
import express, { type Express, type RequestHandler } from "express";
import { pino, type Logger } from "pino";
import request from "supertest";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { StreamSlots } from "../src/lib/stream-slots.ts";
import { createErrorMiddleware } from "../src/middleware/error.middleware.ts";
import { rateLimit, streamLimit } from "../src/middleware/rate-limit.middleware.ts";
import { waitFor } from "./support/pipeline.ts";

// The per-user limits live in PostgreSQL (docs/decisions/shared-limits.md). Each "process" here has
// its own pool and its own middleware instances, as two API processes would; the scale-out test
// (test/scale-out/) does the same with real processes behind a proxy.

let db: TestDatabase;
const pools: Pool[] = [];
const silent = pino({ level: "silent" });

function pool(url = db.url): Pool {
  const created = createPool(url, { max: 3 });
  pools.push(created);
  return created;
}

/** An app with one limited route, the caller named by the x-user header (as requireAuth would set req.user). */
function appWith(limit: RequestHandler, logger: Logger = silent): Express {
  const app = express();
  app.use((req, _res, next) => {
    req.user = { sub: String(req.headers["x-user"]), email: "dr.jones@msm.edu", role: "faculty" } as typeof req.user;
    next();
  });
  app.get("/limited", limit, (_req, res) => void res.json({ data: { ok: true }, error: null }));
  app.use(createErrorMiddleware(logger));
  return app;
}

beforeAll(async () => {
  db = await createTestDatabase(inject("pgAdminUrl"));
});
afterAll(async () => {
  await Promise.all(pools.map((each) => each.end()));
  await db?.drop();
});

describe("limits shared by every API process (PostgreSQL store)", () => {
  it("two processes' request limiters share one budget: of 12 concurrent requests through both, exactly `burst` pass; the rest are 429 RATE_LIMITED with Retry-After", async () => {
    const options = { burst: 3, perMinute: 3 };
    const apps = [appWith(rateLimit("create", options, { pool: pool(), logger: silent })), appWith(rateLimit("create", options, { pool: pool(), logger: silent }))];
    const user = randomUUID();
    const responses = await Promise.all(Array.from({ length: 12 }, (_, index) => request(apps[index % 2]!).get("/limited").set("x-user", user)));
    const statuses = responses.map((response) => response.status);
    expect(statuses.filter((status) => status === 200)).toHaveLength(3);
    expect(statuses.filter((status) => status === 429)).toHaveLength(9);
    for (const response of responses.filter((each) => each.status === 429)) {
      expect(Number(response.headers["retry-after"])).toBeGreaterThanOrEqual(1);
      expect(response.body).toMatchObject({ data: null, error: { code: "RATE_LIMITED" } });
    }
    // Another user has a budget of their own.
    expect((await request(apps[1]!).get("/limited").set("x-user", randomUUID())).status).toBe(200);
  });

  it("live-stream slots are one count across processes, freed when a stream closes", async () => {
    const a = new StreamSlots(pool(), silent, { staleMs: 60_000, heartbeatMs: 1_000 });
    const b = new StreamSlots(pool(), silent, { staleMs: 60_000, heartbeatMs: 1_000 });
    const user = randomUUID();
    const first = await a.acquire(user, 2);
    const second = await b.acquire(user, 2);
    expect(first).not.toBeNull();
    expect(second).not.toBeNull();
    expect(await a.acquire(user, 2)).toBeNull();
    expect(await b.acquire(user, 2)).toBeNull();
    b.release(second!);
    await waitFor("the freed slot to be taken", async () => (await a.acquire(user, 2)) ?? undefined);
    await a.stop();
    await b.stop();
    const { rows } = await pools[0]!.query<{ n: number }>("SELECT count(*)::int AS n FROM live_stream_slots WHERE user_id = $1", [user]);
    expect(rows[0]!.n).toBe(0);
  });

  it("concurrent acquires through two processes never overshoot the limit", async () => {
    const a = new StreamSlots(pool(), silent);
    const b = new StreamSlots(pool(), silent);
    const user = randomUUID();
    const results = await Promise.all(Array.from({ length: 10 }, (_, index) => (index % 2 === 0 ? a : b).acquire(user, 3)));
    expect(results.filter((slot) => slot !== null)).toHaveLength(3);
    await a.stop();
    await b.stop();
  });

  it("a process that dies holding slots (no release, no heartbeat) does not hold them forever; a live process's heartbeat keeps its own", async () => {
    const staleMs = 600;
    const alive = new StreamSlots(pool(), silent, { staleMs, heartbeatMs: 150 });
    alive.start();
    // The dead process took its slots and then stopped existing: never started heartbeating, never released.
    const dead = new StreamSlots(pool(), silent, { staleMs, heartbeatMs: 150 });
    const heldByDead = randomUUID();
    expect(await dead.acquire(heldByDead, 2)).not.toBeNull();
    expect(await dead.acquire(heldByDead, 2)).not.toBeNull();
    expect(await alive.acquire(heldByDead, 2)).toBeNull();
    await waitFor("the dead process's slots to stop counting", async () => (await alive.acquire(heldByDead, 2)) ?? undefined, 10_000, 100);

    const heldByAlive = randomUUID();
    expect(await alive.acquire(heldByAlive, 1)).not.toBeNull();
    // Several stale windows later the live process still holds its slot.
    await new Promise((resolve) => setTimeout(resolve, staleMs * 4));
    expect(await dead.acquire(heldByAlive, 1)).toBeNull();
    await alive.stop();
  });

  it("the database unreachable: the limited routes answer 503 UNAVAILABLE with Retry-After (never a 500), and the limiter logs a warning", async () => {
    const lines: string[] = [];
    const logger = pino({ level: "warn" }, { write: (line: string) => void lines.push(line) });
    const unreachable = pool(`postgres://postgres:postgres@127.0.0.1:${await findFreePort()}/nothing`);
    const limited = appWith(rateLimit("control", { burst: 5, perMinute: 5 }, { pool: unreachable, logger }), logger);
    const streams = appWith(streamLimit(2, new StreamSlots(unreachable, logger), logger), logger);
    for (const app of [limited, streams]) {
      const response = await request(app).get("/limited").set("x-user", randomUUID());
      expect(response.status).toBe(503);
      expect(response.headers["retry-after"]).toBe("5");
      expect(response.body).toMatchObject({ data: null, error: { code: "UNAVAILABLE" } });
    }
    expect(lines.filter((line) => line.includes("limit store unreachable"))).toHaveLength(2);
  });
});
