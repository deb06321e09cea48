import { createHash } from "node:crypto";
import { readdir, readFile } from "node:fs/promises";
import path from "node:path";
import type pg from "pg";
import { withClient } from "./pool.ts";

/** A folder of `<version>_<name>.sql` files, applied in version order under one namespace. */
export interface MigrationSource {
  readonly namespace: string;
  readonly dir: string;
}

export interface Migration {
  readonly namespace: string;
  readonly version: string;
  readonly name: string;
  readonly sql: string;
  readonly checksum: string;
}

export interface MigrationResult {
  readonly applied: readonly string[];
  readonly skipped: readonly string[];
}

export class MigrationChecksumError extends Error {
  constructor(readonly migration: string) {
    super(
      `Migration ${migration} was changed after it was applied. ` +
        "Applied migrations are immutable: revert the edit and add a new migration instead.",
    );
    this.name = "MigrationChecksumError";
  }
}

// Supabase CLI naming: 20240101120000_create_things.sql (a 14-digit timestamp, an underscore, a name).
const FILE_PATTERN = /^(\d{14})_([a-z0-9_]+)\.sql$/;

// Any constant works; it only has to be the same in every process that migrates.
const MIGRATION_LOCK_KEY = 748_392_011;

export async function loadMigrations(source: MigrationSource): Promise<Migration[]> {
  const files = (await readdir(source.dir)).filter((file) => file.endsWith(".sql")).sort();
  const migrations: Migration[] = [];
  for (const file of files) {
    const match = FILE_PATTERN.exec(file);
    if (!match) {
      throw new Error(
        `Migration file ${path.join(source.dir, file)} does not follow <14-digit version>_<snake_case_name>.sql`,
      );
    }
    const sql = await readFile(path.join(source.dir, file), "utf8");
    migrations.push({
      namespace: source.namespace,
      version: match[1]!,
      name: match[2]!,
      sql,
      checksum: createHash("sha256").update(sql).digest("hex"),
    });
  }
  return migrations;
}

/**
 * Applies pending migrations once each, in order, each in its own transaction,
 * recording them in meta.migrations. An advisory lock serialises concurrent
 * migrators (the API and the engine may start at the same moment). A migration
 * whose file changed after it was applied is refused before anything runs.
 */
export async function applyMigrations(
  pool: pg.Pool,
  sources: readonly MigrationSource[],
  log: (line: string) => void = () => undefined,
): Promise<MigrationResult> {
  const all = (await Promise.all(sources.map(loadMigrations))).flat();
  return withClient(pool, async (client) => {
    try {
      await client.query("SELECT pg_advisory_lock($1)", [MIGRATION_LOCK_KEY]);
      await client.query(`
      CREATE SCHEMA IF NOT EXISTS meta;
      CREATE TABLE IF NOT EXISTS meta.migrations (
        namespace text NOT NULL,
        version text NOT NULL,
        name text NOT NULL,
        checksum text NOT NULL,
        applied_at timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (namespace, version)
      );`);
      const { rows } = await client.query<{
        namespace: string;
        version: string;
        checksum: string;
      }>("SELECT namespace, version, checksum FROM meta.migrations");
      const done = new Map(rows.map((row) => [`${row.namespace}/${row.version}`, row.checksum]));

      for (const migration of all) {
        const key = `${migration.namespace}/${migration.version}`;
        const checksum = done.get(key);
        if (checksum !== undefined && checksum !== migration.checksum) {
          throw new MigrationChecksumError(`${key}_${migration.name}`);
        }
      }

      const applied: string[] = [];
      const skipped: string[] = [];
      for (const migration of all) {
        const label = `${migration.namespace}/${migration.version}_${migration.name}`;
        if (done.has(`${migration.namespace}/${migration.version}`)) {
          skipped.push(label);
          continue;
        }
        try {
          await client.query("BEGIN");
          await client.query(migration.sql);
          await client.query(
            "INSERT INTO meta.migrations (namespace, version, name, checksum) VALUES ($1, $2, $3, $4)",
            [migration.namespace, migration.version, migration.name, migration.checksum],
          );
          await client.query("COMMIT");
        } catch (error) {
          await client.query("ROLLBACK").catch(() => undefined);
          const reason = error instanceof Error ? error.message : String(error);
          throw new Error(`Migration ${label} failed: ${reason}`, {
            cause: error,
          });
        }
        applied.push(label);
        log(`applied ${label}`);
      }
      return { applied, skipped };
    } finally {
      await client.query("SELECT pg_advisory_unlock($1)", [MIGRATION_LOCK_KEY]).catch(() => undefined);
    }
  });
}
