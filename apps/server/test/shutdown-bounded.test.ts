import { randomUUID } from "node:crypto";
import { startTestIssuer, type TestIssuer } from "@batchgen/auth/testing";
import { createPool, type Pool } from "@batchgen/db";
import { createTestDatabase, type TestDatabase } from "@batchgen/db/testing";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { productProcesses, type ProductProcesses } from "./support/processes.ts";
import { waitFor } from "./support/pipeline.ts";

let db: TestDatabase;
let pool: Pool;
let issuer: TestIssuer;
let procs: ProductProcesses;
let token: string;

beforeAll(async () => {
  db = await createTestDatabase(inject("pgAdminUrl"));
  pool = createPool(db.url, { max: 3 });
  pool.on("error", () => undefined);
  issuer = await startTestIssuer();
  // The API alone (no engine: nothing here needs a batch to run), with a short shutdown window.
  procs = await productProcesses({ databaseUrl: db.url, supabaseUrl: issuer.url, apiEnv: { SHUTDOWN_TIMEOUT_MS: "1500" } });
  await procs.api.start();
  const user = { id: randomUUID(), email: "dr.hang@msm.edu", role: "faculty" };
  await pool.query("INSERT INTO auth.users (id, email, raw_app_meta_data) VALUES ($1, $2, $3)", [user.id, user.email, JSON.stringify({ role: "faculty" })]);
  token = await issuer.tokens.valid(user);
}, 120_000);

afterAll(async () => {
  await procs?.api.kill();
  await issuer?.close();
  await pool?.end();
  await db?.drop();
});

describe("the API's shutdown window is a hard bound", () => {
  it("SIGTERM while a request hangs on a database lock: the process exits (code 1, saying why) when the window ends", async () => {
    const created = await fetch(`${procs.apiUrl}/api/v1/generation/batch`, {
      method: "POST",
      headers: { Authorization: `Bearer ${token}`, "Content-Type": "application/json" },
      body: JSON.stringify({ topic: "Anatomy", questionType: "single_best_answer", difficulty: "easy", count: 5 }),
    });
    expect(created.status).toBe(201);
    const batchId = ((await created.json()) as { data: { id: string } }).data.id;

    // Hold the batch row lock, so a pause waits on it for as long as this transaction lives.
    const holder = await pool.connect();
    try {
      await holder.query("BEGIN");
      await holder.query("SELECT 1 FROM batch_jobs WHERE id = $1 FOR UPDATE", [batchId]);
      const pause = fetch(`${procs.apiUrl}/api/v1/generation/batch/${batchId}/pause`, {
        method: "POST",
        headers: { Authorization: `Bearer ${token}` },
      }).catch(() => "connection closed");
      await waitFor("the pause to wait on the lock", async () => {
        const { rows } = await pool.query<{ n: number }>(
          "SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock' AND application_name = 'batchgen-api'",
        );
        return rows[0]!.n > 0 ? true : undefined;
      });

      // stop() sends SIGTERM and falls back to SIGKILL after 10 s: a process that exits by itself has an exit code.
      await procs.api.stop();
      expect(procs.api.exitCode).toBe(1);
      expect(procs.api.logs()).toMatch(/shutdown window \(1500 ms\) ended with work still open; exiting/);
      expect(await pause).toBe("connection closed");
    } finally {
      await holder.query("ROLLBACK").catch(() => undefined);
      holder.release();
    }
  }, 60_000);
});
