import path from "node:path";
import { fileURLToPath } from "node:url";

const here = path.dirname(fileURLToPath(import.meta.url));

/** The repository root (this file lives in packages/db/src). */
export const REPO_ROOT = path.resolve(here, "../../..");

/** The real migrations, applied unchanged on Supabase and locally. */
export const SUPABASE_MIGRATIONS_DIR = path.join(REPO_ROOT, "supabase", "migrations");

/** What a Supabase project provides by itself (auth schema, roles); local only. */
export const LOCAL_SHIM_DIR = path.resolve(here, "../shim");

/** Where `pnpm dev` keeps its local state (the embedded cluster, the auth signing key). */
export const DEFAULT_DATA_DIR = path.join(REPO_ROOT, ".data");
