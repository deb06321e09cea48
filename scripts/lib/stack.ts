import { existsSync } from "node:fs";
import path from "node:path";
import pg from "pg";
import {
  createPool,
  isPortInUse,
  migrateAppDatabase,
  REPO_ROOT,
  startEmbeddedPostgres,
  type EmbeddedPostgresHandle,
} from "@batchgen/db";
import { startChild, waitForHttp, type Child, type LineSink } from "./children.ts";

export interface StackPorts {
  readonly db: number;
  readonly auth: number;
  readonly engine: number;
  readonly api: number;
  readonly web: number;
}

export const DEFAULT_PORTS: StackPorts = { db: 54322, auth: 54321, engine: 8288, api: 3001, web: 3000 };

export interface StackOptions {
  readonly ports: StackPorts;
  /** Use this Postgres instead of starting the embedded one. */
  readonly databaseUrl?: string;
  /** Where the embedded cluster and the auth signing key live. */
  readonly dataDir: string;
  /** `dev`: next dev with hot reload; `built`: next build once, then next start. */
  readonly web: "dev" | "built" | "none";
  readonly sink: LineSink;
  /** Extra env for the API process (generator latency and the like). */
  readonly apiEnv?: NodeJS.ProcessEnv;
  /** Where next build writes (relative to apps/web); the browser tests use their own. */
  readonly webDistDir?: string;
}

export interface Stack {
  readonly urls: { readonly web: string; readonly api: string; readonly auth: string; readonly engine: string | null; readonly database: string };
  readonly children: readonly Child[];
  stop(): Promise<void>;
}

const LOCAL_ANON_KEY = "local-anon-key";
const tsx = path.join(REPO_ROOT, "node_modules", ".bin", "tsx");
const next = path.join(REPO_ROOT, "apps", "web", "node_modules", ".bin", "next");

function redact(url: string): string {
  const parsed = new URL(url);
  if (parsed.password) parsed.password = "***";
  return parsed.toString();
}

async function ensureDatabase(adminUrl: string, name: string): Promise<string> {
  const client = new pg.Client({ connectionString: adminUrl });
  await client.connect();
  try {
    const exists = await client.query("SELECT 1 FROM pg_database WHERE datname = $1", [name]);
    if (exists.rowCount === 0) await client.query(`CREATE DATABASE ${name}`);
  } finally {
    await client.end();
  }
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  return url.toString();
}

/**
 * Starts the whole product in dependency order: Postgres, migrations and demo
 * users, the auth stand-in, the API, the engine (which syncs the API's
 * functions), the web app. Every step says what it is doing; the first
 * failure stops what already started and throws one clear message.
 */
export async function startStack(options: StackOptions): Promise<Stack> {
  const { ports, sink } = options;
  const say = (line: string) => sink("dev", line, "out");
  const children: Child[] = [];
  let embedded: EmbeddedPostgresHandle | undefined;

  const stop = async () => {
    for (const child of [...children].reverse()) await child.stop();
    if (embedded) {
      say("stopping PostgreSQL");
      await embedded.stop();
    }
  };

  try {
    const wanted: [string, number][] = [
      ["auth stand-in", ports.auth],
      ["engine", ports.engine],
      ["API", ports.api],
      ...(options.web === "none" ? [] : ([["web app", ports.web]] as [string, number][])),
      ...(options.databaseUrl ? [] : ([["PostgreSQL", ports.db]] as [string, number][])),
    ];
    for (const [what, port] of wanted) {
      if (await isPortInUse(port)) {
        throw new Error(`Port ${port} (for the ${what}) is already in use on 127.0.0.1. Stop whatever uses it (is another pnpm dev running?) and try again.`);
      }
    }

    let databaseUrl = options.databaseUrl;
    if (!databaseUrl) {
      const pgDir = path.join(options.dataDir, "postgres");
      say(`starting PostgreSQL on 127.0.0.1:${ports.db} (data in ${path.relative(REPO_ROOT, pgDir) || pgDir})`);
      embedded = await startEmbeddedPostgres({
        dataDir: pgDir,
        port: ports.db,
        persistent: true,
        log: (line) => {
          if (/ERROR|FATAL|PANIC/.test(line)) sink("db", line, "err");
        },
      });
      databaseUrl = await ensureDatabase(embedded.url, "batchgen");
    } else {
      say(`using DATABASE_URL ${redact(databaseUrl)}`);
    }

    const pool = createPool(databaseUrl, { max: 2, applicationName: "batchgen-dev" });
    try {
      const result = await migrateAppDatabase(pool, (line) => say(`migration ${line}`));
      say(`database ready (${result.applied.length} migration(s) applied, ${result.skipped.length} already applied)`);
      const auth = await import("@batchgen/auth");
      await auth.seedDemoUsers(pool);
      say(`demo users ready: ${auth.DEMO_USERS.map((user) => user.email).join(", ")}`);
    } finally {
      await pool.end();
    }

    const supabaseUrl = `http://127.0.0.1:${ports.auth}`;
    const apiUrl = `http://127.0.0.1:${ports.api}`;
    const engineUrl = `http://127.0.0.1:${ports.engine}`;
    const webUrl = `http://127.0.0.1:${ports.web}`;
    const baseEnv: NodeJS.ProcessEnv = { ...process.env, NODE_ENV: "development", FORCE_COLOR: process.stdout.isTTY ? "1" : "0" };

    const authChild = startChild("auth", tsx, [path.join(REPO_ROOT, "apps/auth/src/cli.ts")], {
      env: {
        ...baseEnv,
        DATABASE_URL: databaseUrl,
        SUPABASE_URL: supabaseUrl,
        AUTH_PORT: String(ports.auth),
        AUTH_KEY_DIR: path.join(options.dataDir, "auth"),
        AUTH_ALLOWED_ORIGINS: `http://127.0.0.1:${ports.web},http://localhost:${ports.web}`,
        // Seeded above already, before anything could sign in.
        AUTH_SEED_DEMO_USERS: "false",
      },
      sink,
    });
    children.push(authChild);
    await waitForHttp(`${supabaseUrl}/auth/v1/.well-known/jwks.json`, 30_000, authChild);

    const apiChild = startChild("api", tsx, [path.join(REPO_ROOT, "apps/server/src/index.ts")], {
      env: {
        ...baseEnv,
        DATABASE_URL: databaseUrl,
        PORT: String(ports.api),
        SUPABASE_URL: supabaseUrl,
        CORS_ORIGINS: `http://127.0.0.1:${ports.web},http://localhost:${ports.web}`,
        INNGEST_DEV: "1",
        INNGEST_BASE_URL: engineUrl,
        LOG_FORMAT: process.env.LOG_FORMAT ?? "pretty",
        ...options.apiEnv,
      },
      sink,
    });
    children.push(apiChild);
    await waitForHttp(`${apiUrl}/health`, 60_000, apiChild);

    const engineCli = path.join(REPO_ROOT, "apps/engine/src/cli.ts");
    let engineReady: string | null = null;
    if (existsSync(engineCli)) {
      const engineChild = startChild("engine", tsx, [engineCli], {
        env: {
          ...baseEnv,
          DATABASE_URL: databaseUrl,
          ENGINE_PORT: String(ports.engine),
          ENGINE_APP_URL: `${apiUrl}/api/inngest`,
        },
        sink,
      });
      children.push(engineChild);
      await waitForHttp(`${engineUrl}/health`, 60_000, engineChild);
      engineReady = engineUrl;
    }

    if (options.web !== "none") {
      const webEnv: NodeJS.ProcessEnv = {
        ...baseEnv,
        NEXT_TELEMETRY_DISABLED: "1",
        NEXT_PUBLIC_SUPABASE_URL: supabaseUrl,
        NEXT_PUBLIC_SUPABASE_ANON_KEY: LOCAL_ANON_KEY,
        NEXT_PUBLIC_API_URL: apiUrl,
        PORT: String(ports.web),
        ...(options.webDistDir ? { NEXT_DIST_DIR: options.webDistDir } : {}),
      };
      const webDir = path.join(REPO_ROOT, "apps/web");
      if (options.web === "built") {
        say("building the web app (next build)");
        const build = startChild("build", next, ["build"], { cwd: webDir, env: { ...webEnv, NODE_ENV: "production" }, sink });
        const code = await build.exited;
        if (code !== 0) throw new Error(`next build failed (exit ${code})`);
      }
      const webChild = startChild(
        "web",
        next,
        [options.web === "built" ? "start" : "dev", "--hostname", "127.0.0.1", "--port", String(ports.web)],
        { cwd: webDir, env: options.web === "built" ? { ...webEnv, NODE_ENV: "production" } : webEnv, sink },
      );
      children.push(webChild);
      await waitForHttp(`${webUrl}/login`, 120_000, webChild);
    }

    return {
      urls: { web: webUrl, api: apiUrl, auth: supabaseUrl, engine: engineReady, database: databaseUrl },
      children,
      stop,
    };
  } catch (error) {
    await stop();
    throw error;
  }
}
