import { randomUUID } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { startTestIssuer, type TestIssuer } from "@batchgen/auth/testing";
import { createPool, findFreePort, migrateAppDatabase, startEmbeddedPostgres, type EmbeddedPostgresHandle, type Pool } from "@batchgen/db";
import { createTestDatabase } from "@batchgen/db/testing";
import { batchRow, waitFor } from "../support/pipeline.ts";
import { productProcesses, type ProductProcesses } from "../support/processes.ts";

/** Fast recovery settings so faults show up in seconds, not minutes (never the defaults). */
export const FAULT_API_ENV: NodeJS.ProcessEnv = {
  SIMULATED_LATENCY_MS: "100",
  SIMULATED_LATENCY_JITTER: "0.3",
  SIMULATED_FAILURE_RATE: "0",
  BATCH_RESUME_WAIT_SECONDS: "2",
  BATCH_RUNNER_HEARTBEAT_MS: "500",
  BATCH_RUNNER_LEASE_STALE_MS: "2000",
  BATCH_CHUNK_BUDGET_MS: "5000",
  DATABASE_POOL_SIZE: "5",
};

export interface FaultRig {
  readonly pool: Pool;
  readonly procs: ProductProcesses;
  readonly issuer: TestIssuer;
  readonly database?: EmbeddedPostgresHandle;
  token: string;
  call(method: string, route: string, body?: unknown): Promise<{ status: number; body: { data: { id: string; status: string } | null; error: { code: string } | null } }>;
  close(): Promise<void>;
}

/**
 * API and engine as real processes. With `ownCluster`, the database is a
 * private PostgreSQL server the test may stop and start (the shared test
 * cluster serves other test files at the same time).
 */
export async function startFaultRig(adminUrl: string, options: { ownCluster?: boolean } = {}): Promise<FaultRig> {
  let database: EmbeddedPostgresHandle | undefined;
  let databaseUrl: string;
  let dropDatabase: () => Promise<void>;
  let root: string | undefined;
  if (options.ownCluster) {
    root = await mkdtemp(path.join(tmpdir(), "batchgen-fault-"));
    database = await startEmbeddedPostgres({ dataDir: path.join(root, "data"), port: await findFreePort(), persistent: false });
    databaseUrl = database.url;
    const migrate = createPool(databaseUrl, { max: 1 });
    await migrateAppDatabase(migrate);
    await migrate.end();
    dropDatabase = () => database!.stop();
  } else {
    const db = await createTestDatabase(adminUrl);
    databaseUrl = db.url;
    dropDatabase = () => db.drop();
  }
  const pool = createPool(databaseUrl, { max: 3 });
  pool.on("error", () => undefined);
  const issuer = await startTestIssuer();
  const procs = await productProcesses({ databaseUrl, supabaseUrl: issuer.url, apiEnv: FAULT_API_ENV });
  await procs.api.start();
  await procs.engine.start();
  const user = { id: randomUUID(), email: "dr.jones@msm.edu", role: "faculty" };
  await pool.query("INSERT INTO auth.users (id, email, raw_app_meta_data) VALUES ($1, $2, $3)", [user.id, user.email, JSON.stringify({ role: "faculty" })]);
  const token = await issuer.tokens.valid(user);
  return {
    pool,
    procs,
    issuer,
    database,
    token,
    async call(method, route, body) {
      const response = await fetch(`${procs.apiUrl}${route}`, {
        method,
        headers: { Authorization: `Bearer ${token}`, ...(body ? { "Content-Type": "application/json" } : {}) },
        body: body ? JSON.stringify(body) : undefined,
        signal: AbortSignal.timeout(15_000),
      });
      return { status: response.status, body: (await response.json()) as never };
    },
    async close() {
      await procs.engine.stop();
      await procs.api.stop();
      await issuer.close();
      await pool.end();
      await dropDatabase();
      if (root) await rm(root, { recursive: true, force: true });
    },
  };
}

export async function createBatch(rig: FaultRig, count: number, concurrency = 5): Promise<string> {
  const created = await rig.call("POST", "/api/v1/generation/batch", { topic: "Microbiology", questionType: "single_best_answer", difficulty: "medium", count, concurrency });
  if (created.status !== 201 || !created.body.data) throw new Error(`create failed: ${created.status} ${JSON.stringify(created.body)}`);
  return created.body.data.id;
}

export async function generatingItems(pool: Pool, batchId: string): Promise<Set<number>> {
  const { rows } = await pool.query<{ position: number }>("SELECT position FROM batch_items WHERE batch_id = $1 AND status = 'generating'", [batchId]);
  return new Set(rows.map((row) => row.position));
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export type KillTarget = "api" | "engine" | "both";

export interface KillReport {
  readonly target: KillTarget;
  readonly atCompleted: number;
  readonly inFlight: number[];
}

/**
 * Kills the API, the engine or both with SIGKILL at random points of a
 * running batch, restarting them each time, then waits for the batch to
 * complete. Returns what was in flight at each kill.
 */
export async function killAtRandomPoints(rig: FaultRig, batchId: string, targets: readonly KillTarget[], random: () => number): Promise<KillReport[]> {
  const reports: KillReport[] = [];
  let lastCompleted = -1;
  for (const target of targets) {
    // Each kill lands at a new point: wait for a few more items to finish first.
    const wanted = lastCompleted + 1 + Math.floor(random() * 6);
    await waitFor("progress before the next kill", async () => {
      const current = await batchRow(rig.pool, batchId);
      return current.completed_items >= wanted || current.status !== "running" ? true : undefined;
    }, 120_000, 50);
    await sleep(random() * 400);
    const row = await batchRow(rig.pool, batchId);
    if (row.status !== "running") break;
    lastCompleted = row.completed_items;
    if (target !== "engine") await rig.procs.api.kill();
    if (target !== "api") await rig.procs.engine.kill();
    const inFlight = [...(await generatingItems(rig.pool, batchId))];
    reports.push({ target, atCompleted: row.completed_items, inFlight });
    await sleep(300);
    if (target !== "api") await rig.procs.engine.start();
    if (target !== "engine") await rig.procs.api.start();
  }
  return reports;
}

export async function waitForCompletion(rig: FaultRig, batchId: string, timeoutMs = 180_000) {
  return waitFor(`batch ${batchId} to complete`, async () => {
    const row = await batchRow(rig.pool, batchId);
    return row.status === "completed" || row.status === "completed_with_errors" || row.status === "failed" ? row : undefined;
  }, timeoutMs, 200);
}

export async function itemsGeneratedMoreThanOnce(pool: Pool, batchId: string): Promise<{ position: number; attempts: number }[]> {
  const { rows } = await pool.query<{ position: number; attempts: number }>(
    "SELECT position, attempts FROM batch_items WHERE batch_id = $1 AND attempts > 1 ORDER BY position",
    [batchId],
  );
  return rows;
}

export async function itemsWithoutResult(pool: Pool, batchId: string): Promise<number> {
  const { rows } = await pool.query<{ n: number }>("SELECT count(*)::int AS n FROM batch_items WHERE batch_id = $1 AND (status <> 'completed' OR result IS NULL)", [batchId]);
  return rows[0]!.n;
}

export function seeded(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    return state / 4294967296;
  };
}
