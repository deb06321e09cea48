import type pg from "pg";
import { applyMigrations, type MigrationResult, type MigrationSource } from "./migrate.ts";
import { LOCAL_SHIM_DIR, SUPABASE_MIGRATIONS_DIR } from "./paths.ts";

const SHIM: MigrationSource = { namespace: "local-shim", dir: LOCAL_SHIM_DIR };
const SUPABASE: MigrationSource = { namespace: "supabase", dir: SUPABASE_MIGRATIONS_DIR };

/**
 * True when the database already provides Supabase's auth schema on its own
 * (a real Supabase project). The shim is recorded in meta.migrations when we
 * applied it, so a database we shimmed earlier still counts as "ours".
 */
async function isSupabaseProvided(pool: pg.Pool): Promise<boolean> {
  const { rows } = await pool.query<{ has_uid: boolean; has_meta: boolean }>(
    "SELECT to_regprocedure('auth.uid()') IS NOT NULL AS has_uid, to_regclass('meta.migrations') IS NOT NULL AS has_meta",
  );
  const row = rows[0];
  if (!row?.has_uid) return false;
  if (!row.has_meta) return true;
  const shimmed = await pool.query("SELECT 1 FROM meta.migrations WHERE namespace = $1 LIMIT 1", [
    SHIM.namespace,
  ]);
  return shimmed.rowCount === 0;
}

/** Applies the local shim (unless Supabase provides it) and then supabase/migrations. */
export async function migrateAppDatabase(
  pool: pg.Pool,
  log?: (line: string) => void,
): Promise<MigrationResult> {
  const sources = (await isSupabaseProvided(pool)) ? [SUPABASE] : [SHIM, SUPABASE];
  return applyMigrations(pool, sources, log);
}
