import path from "node:path";
import { z } from "zod";
import { createPool, REPO_ROOT } from "@batchgen/db";
import { DEFAULT_ALLOWED_ORIGINS } from "./cors.ts";
import { assertNotProduction } from "./production-guard.ts";
import { DEMO_USERS, seedDemoUsers } from "./seed.ts";
import {
  DEFAULT_AUTH_HOST,
  DEFAULT_AUTH_PORT,
  startAuthServer,
} from "./server.ts";
import { DEFAULT_ACCESS_TOKEN_TTL_SECONDS } from "./tokens.ts";

const envSchema = z.object({
  // The database `pnpm dev` creates in its embedded cluster.
  DATABASE_URL: z
    .url()
    .default("postgres://postgres:postgres@127.0.0.1:54322/batchgen"),
  SUPABASE_URL: z
    .url()
    .default(`http://${DEFAULT_AUTH_HOST}:${DEFAULT_AUTH_PORT}`),
  AUTH_PORT: z.coerce
    .number()
    .int()
    .min(1)
    .max(65535)
    .default(DEFAULT_AUTH_PORT),
  // Relative to the repository root, not the cwd: `pnpm --filter` runs in
  // apps/auth, and a second key directory there would rotate the key.
  AUTH_KEY_DIR: z
    .string()
    .min(1)
    .default(path.join(".data", "auth"))
    .transform((dir) => path.resolve(REPO_ROOT, dir)),
  AUTH_ACCESS_TOKEN_TTL_SECONDS: z.coerce
    .number()
    .int()
    .min(1)
    .default(DEFAULT_ACCESS_TOKEN_TTL_SECONDS),
  AUTH_ALLOWED_ORIGINS: z
    .string()
    .default(DEFAULT_ALLOWED_ORIGINS.join(","))
    .transform((value) =>
      value
        .split(",")
        .map((origin) => origin.trim())
        .filter(Boolean),
    ),
  AUTH_SEED_DEMO_USERS: z.enum(["true", "false"]).default("true"),
});

function log(message: string): void {
  console.log(`[auth] ${message}`);
}

async function main(): Promise<void> {
  assertNotProduction();
  // `.env.example` lists every variable with an empty value: empty means unset.
  const parsed = envSchema.safeParse(
    Object.fromEntries(
      Object.entries(process.env).filter(([, value]) => value !== ""),
    ),
  );
  if (!parsed.success) {
    const issues = parsed.error.issues
      .map((issue) => `${issue.path.join(".")}: ${issue.message}`)
      .join("; ");
    throw new Error(`invalid environment: ${issues}`);
  }
  const env = parsed.data;

  const pool = createPool(env.DATABASE_URL, {
    applicationName: "batchgen-auth",
    max: 5,
    onIdleError: (error) => log(`database connection lost: ${error.message}`),
  });
  try {
    await pool.query("SELECT 1 FROM auth.users LIMIT 0");
  } catch (error) {
    await pool.end();
    throw new Error(
      `cannot use auth.users at DATABASE_URL (${redact(env.DATABASE_URL)}): ${error instanceof Error ? error.message : String(error)}; apply the migrations first`,
    );
  }
  if (env.AUTH_SEED_DEMO_USERS === "true") {
    await seedDemoUsers(pool);
    log(
      `demo users: ${DEMO_USERS.map((user) => `${user.email} / ${user.password} (${user.role})`).join(", ")}`,
    );
  }

  const server = await startAuthServer({
    pool,
    port: env.AUTH_PORT,
    host: DEFAULT_AUTH_HOST,
    siteUrl: env.SUPABASE_URL,
    keyDir: env.AUTH_KEY_DIR,
    accessTokenTtlSeconds: env.AUTH_ACCESS_TOKEN_TTL_SECONDS,
    allowedOrigins: env.AUTH_ALLOWED_ORIGINS,
    log,
  }).catch(async (error: unknown) => {
    await pool.end();
    throw error;
  });
  log(
    `Supabase Auth stand-in on ${server.url}/auth/v1 (issuer ${server.issuer}, kid ${server.signingKey.kid})`,
  );

  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) {
      return;
    }
    stopping = true;
    log(`${signal}: stopping`);
    server
      .close()
      .then(() => pool.end())
      .then(() => process.exit(0))
      .catch((error: unknown) => {
        console.error(`[auth] shutdown failed: ${String(error)}`);
        process.exit(1);
      });
  };
  process.on("SIGINT", () => stop("SIGINT"));
  process.on("SIGTERM", () => stop("SIGTERM"));
}

function redact(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password) {
      parsed.password = "***";
    }
    return parsed.toString();
  } catch {
    return "<unparseable>";
  }
}

main().catch((error: unknown) => {
  console.error(
    `[auth] ${error instanceof Error ? error.message : String(error)}`,
  );
  process.exit(1);
});
