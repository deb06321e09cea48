import { migrateAppDatabase } from "./app-migrations.ts";
import { createPool } from "./pool.ts";

// `pnpm db:migrate`: applies pending migrations to DATABASE_URL (a Supabase project or any Postgres).
const url = process.env.DATABASE_URL;
if (!url) {
  process.stderr.write("DATABASE_URL is required: the database to migrate (pnpm dev migrates its embedded one by itself).\n");
  process.exit(1);
}
const pool = createPool(url, { max: 1, applicationName: "batchgen-migrate" });
try {
  const result = await migrateAppDatabase(pool, (line) => process.stdout.write(`${line}\n`));
  process.stdout.write(`${result.applied.length} applied, ${result.skipped.length} already applied\n`);
} catch (error) {
  process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
  process.exitCode = 1;
} finally {
  await pool.end();
}
