export { migrateAppDatabase } from "./app-migrations.ts";
export { startEmbeddedPostgres } from "./embedded.ts";
export type { EmbeddedPostgresHandle, EmbeddedPostgresOptions } from "./embedded.ts";
export { applyMigrations, loadMigrations, MigrationChecksumError } from "./migrate.ts";
export type { Migration, MigrationResult, MigrationSource } from "./migrate.ts";
export { findFreePort, isPortInUse } from "./net.ts";
export { DEFAULT_DATA_DIR, LOCAL_SHIM_DIR, REPO_ROOT, SUPABASE_MIGRATIONS_DIR } from "./paths.ts";
export { createPool, withClient, withTransaction } from "./pool.ts";
export type { CreatePoolOptions, Pool, PoolClient } from "./pool.ts";
