import { mkdtemp, readdir, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { migrateAppDatabase } from "../src/app-migrations.ts";
import { SUPABASE_MIGRATIONS_DIR } from "../src/paths.ts";
import { applyMigrations, MigrationChecksumError } from "../src/migrate.ts";
import { createPool, type Pool } from "../src/pool.ts";
import { createTestDatabase, type TestDatabase } from "../src/testing.ts";

let db: TestDatabase;
let pool: Pool;
let dir: string;

beforeAll(async () => {
  db = await createTestDatabase(inject("pgAdminUrl"));
  pool = createPool(db.url);
  dir = await mkdtemp(path.join(tmpdir(), "migrations-"));
});

afterAll(async () => {
  await pool.end();
  await db.drop();
  await rm(dir, { recursive: true, force: true });
});

describe("migrator", () => {
  it("applies pending migrations once, in version order, and records them", async () => {
    await writeFile(path.join(dir, "20260102000000_second.sql"), "INSERT INTO t (v) VALUES ('second');");
    await writeFile(path.join(dir, "20260101000000_first.sql"), "CREATE TABLE t (v text);");
    const first = await applyMigrations(pool, [{ namespace: "demo", dir }]);
    expect(first.applied).toEqual(["demo/20260101000000_first", "demo/20260102000000_second"]);

    const again = await applyMigrations(pool, [{ namespace: "demo", dir }]);
    expect(again.applied).toEqual([]);
    expect(again.skipped).toHaveLength(2);
    const { rows } = await pool.query("SELECT v FROM t");
    expect(rows).toEqual([{ v: "second" }]);
  });

  it("refuses a migration whose file changed after it was applied, and applies nothing", async () => {
    await writeFile(path.join(dir, "20260101000000_first.sql"), "CREATE TABLE t (v text, w int);");
    await writeFile(path.join(dir, "20260103000000_third.sql"), "INSERT INTO t (v) VALUES ('third');");
    await expect(applyMigrations(pool, [{ namespace: "demo", dir }])).rejects.toBeInstanceOf(
      MigrationChecksumError,
    );
    const { rows } = await pool.query("SELECT v FROM t ORDER BY v");
    expect(rows).toEqual([{ v: "second" }]);
  });

  it("rolls back a failing migration and names it", async () => {
    const bad = await mkdtemp(path.join(tmpdir(), "migrations-bad-"));
    await writeFile(path.join(bad, "20260101000000_ok.sql"), "CREATE TABLE ok_table (id int);");
    await writeFile(path.join(bad, "20260102000000_broken.sql"), "CREATE TABLE half (id int); SELEC oops;");
    await expect(applyMigrations(pool, [{ namespace: "bad", dir: bad }])).rejects.toThrow(
      /bad\/20260102000000_broken failed/,
    );
    const half = await pool.query("SELECT to_regclass('half') AS t");
    expect(half.rows[0].t).toBeNull();
    const ok = await pool.query("SELECT to_regclass('ok_table') AS t");
    expect(ok.rows[0].t).toBe("ok_table");
    await rm(bad, { recursive: true, force: true });
  });

  it("rejects a file that does not follow the Supabase CLI naming", async () => {
    const odd = await mkdtemp(path.join(tmpdir(), "migrations-odd-"));
    await writeFile(path.join(odd, "create_things.sql"), "SELECT 1;");
    await expect(applyMigrations(pool, [{ namespace: "odd", dir: odd }])).rejects.toThrow(
      /does not follow/,
    );
    await rm(odd, { recursive: true, force: true });
  });

  it("re-running the app migrations on a migrated database is a no-op", async () => {
    const result = await migrateAppDatabase(pool);
    expect(result.applied).toEqual([]);
    const files = (await readdir(SUPABASE_MIGRATIONS_DIR)).filter((file) => file.endsWith(".sql"));
    expect(result.skipped).toEqual([
      "local-shim/20000101000000_local_supabase_auth",
      ...files.sort().map((file) => `supabase/${file.replace(/\.sql$/, "")}`),
    ]);
  });
});

describe("schema", () => {
  it("enforces status check constraints and counter bounds", async () => {
    const user = await pool.query<{ id: string }>(
      "INSERT INTO auth.users (id, email) VALUES (gen_random_uuid(), 'x@example.edu') RETURNING id",
    );
    const userId = user.rows[0]!.id;
    await expect(
      pool.query("INSERT INTO batch_jobs (user_id, status, total_items, config) VALUES ($1, 'bogus', 1, '{}')", [userId]),
    ).rejects.toThrow(/check constraint/);
    await expect(
      pool.query("INSERT INTO batch_jobs (user_id, total_items, completed_items, config) VALUES ($1, 2, 3, '{}')", [userId]),
    ).rejects.toThrow(/batch_jobs_counts_within_total/);
  });

  it("a runner heartbeat does not move a batch's updated_at; a visible change does", async () => {
    const user = await pool.query<{ id: string }>("INSERT INTO auth.users (id, email) VALUES (gen_random_uuid(), 'z@example.edu') RETURNING id");
    const job = await pool.query<{ id: string; updated_at: Date }>(
      "INSERT INTO batch_jobs (user_id, total_items, config, updated_at) VALUES ($1, 3, '{}', now() - interval '1 hour') RETURNING id, updated_at",
      [user.rows[0]!.id],
    );
    const { id, updated_at: before } = job.rows[0]!;
    const beat = await pool.query<{ updated_at: Date }>("UPDATE batch_jobs SET runner_id = 'r1', runner_heartbeat_at = now() WHERE id = $1 RETURNING updated_at", [id]);
    expect(beat.rows[0]!.updated_at).toEqual(before);
    const progress = await pool.query<{ updated_at: Date }>("UPDATE batch_jobs SET completed_items = 1 WHERE id = $1 RETURNING updated_at", [id]);
    expect(progress.rows[0]!.updated_at.getTime()).toBeGreaterThan(before.getTime());
  });

  it("notifies batch_progress after commit when counters change", async () => {
    const listener = await pool.connect();
    const received: string[] = [];
    listener.on("notification", (message) => received.push(message.payload ?? ""));
    await listener.query("LISTEN batch_progress");
    const user = await pool.query<{ id: string }>(
      "INSERT INTO auth.users (id, email) VALUES (gen_random_uuid(), 'y@example.edu') RETURNING id",
    );
    const job = await pool.query<{ id: string }>(
      "INSERT INTO batch_jobs (user_id, total_items, config) VALUES ($1, 3, '{}') RETURNING id",
      [user.rows[0]!.id],
    );
    await pool.query("UPDATE batch_jobs SET completed_items = 1 WHERE id = $1", [job.rows[0]!.id]);
    await new Promise((resolve) => setTimeout(resolve, 100));
    await listener.query("UNLISTEN batch_progress");
    listener.release();
    const payloads = received.map((text) => JSON.parse(text) as { kind: string; completedItems: number });
    expect(payloads.map((p) => [p.kind, p.completedItems])).toEqual([
      ["batch", 0],
      ["batch", 1],
    ]);
  });
});

describe("embedded PostgreSQL", () => {
  it("keeps its data across a stop and a start, and restarts a server an earlier process left running", async () => {
    const { startEmbeddedPostgres } = await import("../src/embedded.ts");
    const { findFreePort } = await import("../src/net.ts");
    const root = await mkdtemp(path.join(tmpdir(), "embedded-"));
    const port = await findFreePort();
    const options = { dataDir: path.join(root, "data"), port, persistent: true };
    const first = await startEmbeddedPostgres(options);
    const client = createPool(first.url, { max: 1 });
    await client.query("CREATE TABLE kept (v int); INSERT INTO kept VALUES (42)");
    await client.end();
    // A second start on the same directory while the first server still runs (its parent died).
    const second = await startEmbeddedPostgres(options);
    const again = createPool(second.url, { max: 1 });
    expect((await again.query("SELECT v FROM kept")).rows).toEqual([{ v: 42 }]);
    await again.end();
    await second.stop();
    await rm(root, { recursive: true, force: true });
  });
});
