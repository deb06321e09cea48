import { randomUUID } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { startTestIssuer, type TestIssuer } from "@batchgen/auth/testing";
import { createPool, findFreePort, migrateAppDatabase, startEmbeddedPostgres, type EmbeddedPostgresHandle, type Pool } from "@batchgen/db";
import { createTestDatabase } from "@batchgen/db/testing";
import { productProcesses, type ProductProcesses } from "./processes.ts";

export interface ProcessRig {
  readonly pool: Pool;
  readonly procs: ProductProcesses;
  readonly issuer: TestIssuer;
  readonly database?: EmbeddedPostgresHandle;
  readonly token: string;
  call(method: string, route: string, body?: unknown): Promise<{ status: number; body: { data: { id: string; status: string } | null; error: { code: string } | null } }>;
  close(): Promise<void>;
}

/**
 * The API and the engine as real processes (so tests can SIGKILL or SIGTERM them), a test JWKS
 * issuer and one faculty user with a token. With `ownCluster`, the database is a private
 * PostgreSQL server the test may stop and start (the shared cluster serves other test files).
 */
export async function startProcessRig(adminUrl: string, options: { ownCluster?: boolean; apiEnv: NodeJS.ProcessEnv }): Promise<ProcessRig> {
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
  const procs = await productProcesses({ databaseUrl, supabaseUrl: issuer.url, apiEnv: options.apiEnv });
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
