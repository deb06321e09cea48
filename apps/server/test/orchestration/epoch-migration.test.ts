import { randomBytes, randomUUID } from "node:crypto";
import { copyFile, mkdtemp, readdir, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { applyMigrations, createPool, LOCAL_SHIM_DIR, SUPABASE_MIGRATIONS_DIR, type Pool } from "@batchgen/db";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";

// Upgrading a database whose batches were started by the code before orchestrator epochs: every
// active batch gets epoch 1 and its batch.started, so the old code's runs (epoch 0) are superseded.

const EPOCH_MIGRATION = "20261202000000";
// Applied as of the commit that introduced epochs, then upgraded by the migrations after it.
let pool: Pool;
let name: string;
let before: string;

async function admin<T>(fn: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: inject("pgAdminUrl") });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

beforeAll(async () => {
  name = `upgrade_${randomBytes(6).toString("hex")}`;
  await admin((client) => client.query(`CREATE DATABASE ${name}`));
  const url = new URL(inject("pgAdminUrl"));
  url.pathname = `/${name}`;
  pool = createPool(url.toString(), { max: 2 });
  // The migrations as they were before this one.
  before = await mkdtemp(path.join(tmpdir(), "migrations-before-"));
  for (const file of await readdir(SUPABASE_MIGRATIONS_DIR)) {
    if (file.endsWith(".sql") && file < EPOCH_MIGRATION) await copyFile(path.join(SUPABASE_MIGRATIONS_DIR, file), path.join(before, file));
  }
  await applyMigrations(pool, [
    { namespace: "local-shim", dir: LOCAL_SHIM_DIR },
    { namespace: "supabase", dir: before },
  ]);
});
afterAll(async () => {
  await pool?.end();
  await admin((client) => client.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`));
  if (before) await rm(before, { recursive: true, force: true });
});

describe("the orchestrator-epoch migration on a database with batches in flight", () => {
  it("starts epoch 1 (outbox batch.started with the epoch) for every running and paused batch, and leaves finished ones alone", async () => {
    const user = randomUUID();
    await pool.query("INSERT INTO auth.users (id, email, raw_app_meta_data) VALUES ($1, 'old@msm.edu', '{\"role\":\"faculty\"}')", [user]);
    const config = JSON.stringify({ topic: "Old", questionType: "single_best_answer", difficulty: "easy", count: 1, concurrency: 1, generator: "simulated" });
    const ids: Record<string, string> = {};
    for (const status of ["running", "paused", "completed", "cancelled"]) {
      const { rows } = await pool.query<{ id: string }>("INSERT INTO batch_jobs (user_id, status, total_items, config) VALUES ($1, $2, 1, $3) RETURNING id", [
        user,
        status,
        config,
      ]);
      ids[status] = rows[0]!.id;
    }

    await applyMigrations(pool, [
      { namespace: "local-shim", dir: LOCAL_SHIM_DIR },
      { namespace: "supabase", dir: SUPABASE_MIGRATIONS_DIR },
    ]);

    const { rows: batches } = await pool.query<{ id: string; orchestrator_epoch: number }>("SELECT id, orchestrator_epoch FROM batch_jobs");
    const epochOf = (status: string) => batches.find((row) => row.id === ids[status])?.orchestrator_epoch;
    expect([epochOf("running"), epochOf("paused"), epochOf("completed"), epochOf("cancelled")]).toEqual([1, 1, 0, 0]);
    const { rows: outbox } = await pool.query<{ event_id: string; name: string; data: unknown; sent_at: Date | null }>(
      "SELECT event_id, name, data, sent_at FROM event_outbox ORDER BY event_id",
    );
    expect(outbox).toEqual(
      [ids.running!, ids.paused!]
        .sort((a, b) => `batch-started-${a}-e1`.localeCompare(`batch-started-${b}-e1`))
        .map((id) => ({ event_id: `batch-started-${id}-e1`, name: "batch.started", data: { batchId: id, epoch: 1 }, sent_at: null })),
    );
  });
});
