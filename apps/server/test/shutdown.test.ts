import { randomUUID } from "node:crypto";
import { startTestIssuer, type TestIssuer } from "@batchgen/auth/testing";
import { createPool, type Pool } from "@batchgen/db";
import { createTestDatabase, type TestDatabase } from "@batchgen/db/testing";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { batchRow, waitFor } from "./support/pipeline.ts";
import { productProcesses, type ProductProcesses } from "./support/processes.ts";

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
    apiEnv: { SIMULATED_LATENCY_MS: "600", SIMULATED_LATENCY_JITTER: "0.1", SIMULATED_FAILURE_RATE: "0" },
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

describe("graceful shutdown of the API", () => {
  it("SIGTERM: live streams end, items in flight are stored (not redone), the process exits 0 well before the force timeout; a restarted API finishes the batch", async () => {
    const created = await fetch(`${procs.apiUrl}/api/v1/generation/batch`, {
      method: "POST",
      headers: { Authorization: `Bearer ${token}`, "Content-Type": "application/json" },
      body: JSON.stringify({ topic: "Haematology", questionType: "single_best_answer", difficulty: "easy", count: 30, concurrency: 3 }),
    });
    const batchId = ((await created.json()) as { data: { id: string } }).data.id;
    await waitFor("items in flight", async () => ((await batchRow(pool, batchId)).generating_items === 3 ? true : undefined));

    const stream = await fetch(`${procs.apiUrl}/api/v1/generation/batch/${batchId}/stream`, { headers: { Authorization: `Bearer ${token}` } });
    expect(stream.status).toBe(200);
    const streamEnded = (async () => {
      for await (const _chunk of stream.body as unknown as AsyncIterable<Uint8Array>) {
        // drain until the server ends it
      }
      return Date.now();
    })();

    const started = Date.now();
    await procs.api.stop();
    const stoppedAfter = Date.now() - started;
    expect(procs.api.exitCode).toBe(0);
    expect(stoppedAfter).toBeLessThan(8_000);
    expect((await streamEnded) - started).toBeLessThan(8_000);

    const afterStop = await batchRow(pool, batchId);
    expect(afterStop.generating_items).toBe(0);
    const { rows } = await pool.query<{ n: number }>("SELECT count(*)::int AS n FROM batch_items WHERE batch_id = $1 AND attempts > 1", [batchId]);
    expect(rows[0]!.n).toBe(0);

    await procs.api.start();
    const done = await waitFor("the batch to complete on the restarted API", async () => {
      const row = await batchRow(pool, batchId);
      return row.status === "completed" ? row : undefined;
    }, 120_000);
    expect(done.completed_items).toBe(30);
    const { rows: twice } = await pool.query<{ n: number }>("SELECT count(*)::int AS n FROM batch_items WHERE batch_id = $1 AND attempts > 1", [batchId]);
    expect(twice[0]!.n).toBe(0);
  }, 180_000);
});
