import { randomUUID } from "node:crypto";
import { startTestIssuer, type TestIssuer } from "@batchgen/auth/testing";
import { createPool, type Pool } from "@batchgen/db";
import { createTestDatabase, type TestDatabase } from "@batchgen/db/testing";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { batchRow, waitFor } from "../support/pipeline.ts";
import { productProcesses, type ProductProcesses } from "../support/processes.ts";

let db: TestDatabase;
let pool: Pool;
let issuer: TestIssuer;
let procs: ProductProcesses;
let token: string;

beforeAll(async () => {
  db = await createTestDatabase(inject("pgAdminUrl"));
  pool = createPool(db.url, { max: 3 });
  issuer = await startTestIssuer();
  procs = await productProcesses({
    databaseUrl: db.url,
    supabaseUrl: issuer.url,
    apiEnv: { SIMULATED_LATENCY_MS: "150", SIMULATED_FAILURE_RATE: "0", BATCH_RESUME_WAIT_SECONDS: "2" },
  });
  await procs.api.start();
  await procs.engine.start();
  const user = { id: randomUUID(), email: "dr.jones@msm.edu", role: "faculty" };
  await pool.query("INSERT INTO auth.users (id, email, raw_app_meta_data) VALUES ($1, $2, $3)", [user.id, user.email, JSON.stringify({ role: "faculty" })]);
  token = await issuer.tokens.valid(user);
}, 120_000);

afterAll(async () => {
  await procs?.engine.stop();
  await procs?.api.stop();
  await issuer?.close();
  await pool?.end();
  await db?.drop();
});

async function call(method: string, path: string, body?: unknown) {
  const response = await fetch(`${procs.apiUrl}/api/v1${path}`, {
    method,
    headers: { Authorization: `Bearer ${token}`, ...(body ? { "Content-Type": "application/json" } : {}) },
    body: body ? JSON.stringify(body) : undefined,
  });
  return { status: response.status, body: (await response.json()) as { data: { id: string; status: string } } };
}

async function startedCount(batchId: string): Promise<number> {
  const { rows } = await pool.query<{ n: string }>("SELECT count(*) AS n FROM batch_items WHERE batch_id = $1 AND status <> 'pending'", [batchId]);
  return Number(rows[0]!.n);
}

describe("a paused batch across restarts", () => {
  it("paused, then the API process and the engine are both killed with SIGKILL and restarted: still paused, nothing dispatched meanwhile, and a resume completes it", async () => {
    const created = await call("POST", "/generation/batch", { topic: "Pharmacology", questionType: "single_best_answer", difficulty: "medium", count: 40, concurrency: 3 });
    expect(created.status).toBe(201);
    const batchId = created.body.data.id;
    await waitFor("some completed items", async () => ((await batchRow(pool, batchId)).completed_items >= 3 ? true : undefined));

    expect((await call("POST", `/generation/batch/${batchId}/pause`)).status).toBe(200);
    await waitFor("the pause to drain", async () => ((await batchRow(pool, batchId)).generating_items === 0 ? true : undefined));
    const startedAtPause = await startedCount(batchId);

    await procs.api.kill();
    await procs.engine.kill();
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    await procs.engine.start();
    await procs.api.start();

    // Give the restarted pair time to do anything they would do: parked waits time out and re-check.
    await new Promise((resolve) => setTimeout(resolve, 6_000));
    const row = await batchRow(pool, batchId);
    expect(row.status).toBe("paused");
    expect(await startedCount(batchId)).toBe(startedAtPause);

    expect((await call("POST", `/generation/batch/${batchId}/resume`)).status).toBe(200);
    const done = await waitFor("the batch to complete", async () => {
      const current = await batchRow(pool, batchId);
      return current.status === "completed" ? current : undefined;
    }, 90_000);
    expect(done.completed_items).toBe(40);
    const { rows } = await pool.query<{ n: string }>("SELECT count(*) AS n FROM batch_items WHERE batch_id = $1 AND (result IS NULL OR attempts <> 1)", [batchId]);
    expect(Number(rows[0]!.n)).toBe(0);
  });
});
