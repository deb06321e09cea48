import { createPool, type Pool } from "@batchgen/db";
import { createTestDatabase, type TestDatabase } from "@batchgen/db/testing";
import express, { type Express } from "express";
import { pino } from "pino";
import request from "supertest";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { USER_FOREIGN_KEYS } from "../../src/errors/database-errors.ts";
import { encodeCursor } from "../../src/lib/cursor.ts";
import { createErrorMiddleware } from "../../src/middleware/error.middleware.ts";

// The safety net under the schemas: whatever a schema misses and PostgreSQL refuses is still the
// client's 400 (naming the field where the request shows it), never a 500. Real PostgreSQL errors,
// through the real error middleware, from routes that pass request values straight to SQL.
let db: TestDatabase;
let pool: Pool;
let app: Express;
const warnings: unknown[] = [];

beforeAll(async () => {
  db = await createTestDatabase(inject("pgAdminUrl"));
  pool = createPool(db.url, { max: 2 });
  app = express();
  app.use(express.json());
  const sql = (text: string, pick: (req: express.Request) => unknown[]) => async (req: express.Request, res: express.Response) => {
    await pool.query(text, pick(req));
    res.json({ data: "stored", error: null });
  };
  app.post("/int", sql("SELECT $1::int4", (req) => [req.body.count]));
  app.post("/text", sql("SELECT $1::text", (req) => [req.body.topic]));
  app.post("/jsonb", sql("SELECT $1::jsonb", (req) => [JSON.stringify(req.body)]));
  await pool.query("CREATE TABLE fuzz_codes (code varchar(5))");
  app.post("/varchar", sql("INSERT INTO fuzz_codes (code) VALUES ($1)", (req) => [req.body.code]));
  app.post("/timestamp", sql("SELECT $1::timestamptz", (req) => [req.body.at]));
  app.post("/uuid/:id", sql("SELECT $1::uuid", (req) => [req.params.id]));
  app.get("/items", sql("SELECT $1::int4", (req) => [JSON.parse(Buffer.from(typeof req.query.cursor === "string" ? req.query.cursor : "", "base64url").toString()).position]));
  app.get("/divide", sql("SELECT 1 / $1::int", () => [0]));
  app.get("/bug", sql("SELECT * FROM no_such_table", () => []));
  const logger = pino({ level: "warn" }, { write: (line: string) => void warnings.push(JSON.parse(line)) });
  app.use(createErrorMiddleware(logger));
});

afterAll(async () => {
  await pool?.end();
  await db?.drop();
});

function expectValidation(response: request.Response, field: string | undefined, sqlstate: string) {
  expect(response.status).toBe(400);
  expect(response.body.data).toBeNull();
  expect(response.body.error.code).toBe("VALIDATION_ERROR");
  expect(response.body.error.details).toEqual(field ? { field, sqlstate } : { sqlstate });
  if (field) expect(response.body.error.message).toMatch(new RegExp(`^${field.replace(".", "\\.")}: `));
}

describe("PostgreSQL data exceptions (SQLSTATE 22xxx) are 400 VALIDATION_ERROR naming the field", () => {
  it("an integer past int4 (22003) names the body field", async () => {
    expectValidation(await request(app).post("/int").send({ count: 2 ** 31 }), "count", "22003");
  });

  it("NUL in text (22021) names the body field", async () => {
    expectValidation(await request(app).post("/text").send({ topic: "a\u0000b" }), "topic", "22021");
  });

  it("NUL inside JSON stored as jsonb (22P05) names the nested field", async () => {
    expectValidation(await request(app).post("/jsonb").send({ config: { topic: "a\u0000b" } }), "config.topic", "22P05");
  });

  it("a lone surrogate inside jsonb is 400 too", async () => {
    const response = await request(app).post("/jsonb").set("Content-Type", "application/json").send('{"topic":"\\ud800"}');
    expect(response.status).toBe(400);
    expect(response.body.error.details.sqlstate).toMatch(/^22/);
  });

  it("a string too long for its column (22001) is 400 naming the field", async () => {
    expectValidation(await request(app).post("/varchar").send({ code: "abcdefghijk" }), "code", "22001");
  });

  it("dates JavaScript accepts and PostgreSQL does not name the field", async () => {
    expectValidation(await request(app).post("/timestamp").send({ at: "2026-02-30T00:00:00Z" }), "at", "22008");
    const farFuture = await request(app).post("/timestamp").send({ at: "+275760-09-13T00:00:00.000Z" });
    expect(farFuture.status).toBe(400);
    expect(farFuture.body.error.details).toEqual({ field: "at", sqlstate: expect.stringMatching(/^22/) });
  });

  it("a malformed path segment (22P02) is named as the path (the router has let go of its parameter names)", async () => {
    expectValidation(await request(app).post("/uuid/not-a-uuid"), "path", "22P02");
  });

  it("a value inside a decoded cursor (22003) names the cursor", async () => {
    expectValidation(await request(app).get(`/items?cursor=${encodeCursor({ position: 2 ** 31 })}`), "cursor", "22003");
  });

  it("a data exception no input explains (22012) is still 400, without a field", async () => {
    expectValidation(await request(app).get("/divide"), undefined, "22012");
  });

  it("each is logged as a warning (a schema gap to close), with its SQLSTATE", () => {
    expect(warnings).toContainEqual(expect.objectContaining({ msg: "database refused a request value", sqlstate: "22003", answer: "VALIDATION_ERROR" }));
  });

  it("any other database error stays a 500 (the net does not hide bugs)", async () => {
    const response = await request(app).get("/bug");
    expect(response.status).toBe(500);
    expect(response.body.error.code).toBe("INTERNAL_ERROR");
  });
});

describe("a row whose user no longer exists is 401", () => {
  it("every foreign key to auth.users is one the error middleware knows", async () => {
    const { rows } = await pool.query<{ name: string }>(
      `SELECT conname AS name FROM pg_constraint WHERE contype = 'f' AND confrelid = 'auth.users'::regclass AND connamespace = 'public'::regnamespace ORDER BY 1`,
    );
    expect(rows.map((row) => row.name).sort()).toEqual([...USER_FOREIGN_KEYS].sort());
  });

  it("inserting a batch for a user that is gone (23503 on batch_jobs_user_id_fkey) is 401 UNAUTHORIZED", async () => {
    const gone = express();
    gone.post("/batch", async (_req, res) => {
      await pool.query("INSERT INTO batch_jobs (user_id, total_items, config) VALUES (gen_random_uuid(), 1, '{}')");
      res.json({ data: "stored", error: null });
    });
    gone.use(createErrorMiddleware(pino({ level: "silent" })));
    const response = await request(gone).post("/batch");
    expect(response.status).toBe(401);
    expect(response.body).toEqual({ data: null, error: { code: "UNAUTHORIZED", message: expect.stringMatching(/no longer exists/) } });
  });

  it("a foreign key to another table (23503) is not mistaken for a missing user", async () => {
    const other = express();
    other.post("/item", async (_req, res) => {
      await pool.query("INSERT INTO batch_items (batch_id, position) VALUES (gen_random_uuid(), 0)");
      res.json({ data: "stored", error: null });
    });
    other.use(createErrorMiddleware(pino({ level: "silent" })));
    expect((await request(other).post("/item")).status).toBe(500);
  });
});
