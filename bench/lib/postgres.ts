import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import pg from "pg";
import { findFreePort, startEmbeddedPostgres, type EmbeddedPostgresHandle } from "@batchgen/db";

// One throwaway PostgreSQL cluster (the product's embedded binaries) that every system in a
// benchmark shares, with pg_stat_statements preloaded in this cluster only.

export interface BenchPostgres {
  readonly handle: EmbeddedPostgresHandle;
  /** Creates the database if missing and returns its URL. */
  database(name: string): Promise<string>;
  postmasterPid(): Promise<number>;
  stop(): Promise<void>;
}

export async function startBenchPostgres(): Promise<BenchPostgres> {
  const dir = await mkdtemp(path.join(tmpdir(), "batchgen-bench-pg-"));
  const handle = await startEmbeddedPostgres({ dataDir: path.join(dir, "data"), port: await findFreePort(), persistent: false });
  const admin = async <T>(fn: (client: pg.Client) => Promise<T>): Promise<T> => {
    const client = new pg.Client({ connectionString: handle.url });
    await client.connect();
    try {
      return await fn(client);
    } finally {
      await client.end();
    }
  };
  await admin((client) => client.query("ALTER SYSTEM SET shared_preload_libraries = 'pg_stat_statements'"));
  await admin((client) => client.query("ALTER SYSTEM SET pg_stat_statements.max = 10000"));
  await handle.pause();
  await handle.start();
  return {
    handle,
    async database(name) {
      await admin(async (client) => {
        const exists = await client.query("SELECT 1 FROM pg_database WHERE datname = $1", [name]);
        if (exists.rowCount === 0) await client.query(`CREATE DATABASE ${name}`);
      });
      return handle.urlFor(name);
    },
    async postmasterPid() {
      return Number((await readFile(path.join(handle.dataDir, "postmaster.pid"), "utf8")).split("\n")[0]);
    },
    async stop() {
      await handle.stop();
      await rm(dir, { recursive: true, force: true });
    },
  };
}
