import { randomBytes } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import pg from "pg";
import { migrateAppDatabase } from "./app-migrations.ts";
import { startEmbeddedPostgres } from "./embedded.ts";
import { findFreePort } from "./net.ts";

import type {} from "vitest";

declare module "vitest" {
  export interface ProvidedContext {
    /** Set by vitest-global-setup.ts: the throwaway cluster's admin connection string. */
    pgAdminUrl: string;
  }
}

export const TEMPLATE_DATABASE = "batchgen_template";

export interface TestCluster {
  /** Connection string of the cluster's `postgres` database (for CREATE DATABASE). */
  readonly adminUrl: string;
  readonly port: number;
  stop(): Promise<void>;
}

/**
 * A throwaway PostgreSQL cluster in a temporary folder on a free port, with
 * a template database that already has every migration applied. It never
 * touches the developer's `.data/` cluster.
 */
export async function startTestCluster(): Promise<TestCluster> {
  const root = await mkdtemp(path.join(tmpdir(), "batchgen-pg-"));
  const port = await findFreePort();
  const server = await startEmbeddedPostgres({
    dataDir: path.join(root, "data"),
    port,
    persistent: false,
  });
  const admin = new pg.Client({ connectionString: server.url });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${TEMPLATE_DATABASE}`);
  await admin.end();

  const pool = new pg.Pool({ connectionString: server.urlFor(TEMPLATE_DATABASE), max: 1 });
  try {
    await migrateAppDatabase(pool);
  } finally {
    await pool.end();
  }

  return {
    adminUrl: server.url,
    port,
    stop: async () => {
      await server.stop();
      await rm(root, { recursive: true, force: true });
    },
  };
}

export interface TestDatabase {
  readonly url: string;
  readonly name: string;
  drop(): Promise<void>;
}

/** A fresh database cloned from the migrated template: cheap, isolated, disposable. */
export async function createTestDatabase(adminUrl: string): Promise<TestDatabase> {
  const name = `test_${randomBytes(6).toString("hex")}`;
  const admin = new pg.Client({ connectionString: adminUrl });
  await admin.connect();
  try {
    await admin.query(`CREATE DATABASE ${name} TEMPLATE ${TEMPLATE_DATABASE}`);
  } finally {
    await admin.end();
  }
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    name,
    drop: async () => {
      const client = new pg.Client({ connectionString: adminUrl });
      await client.connect();
      try {
        await client.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      } finally {
        await client.end();
      }
    },
  };
}
