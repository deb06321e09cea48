import { BlockList, isIP } from "node:net";
import { z } from "zod";

const csv = z
  .string()
  .transform((value) => value.split(",").map((part) => part.trim()).filter(Boolean));

const port = z.coerce.number().int().min(0).max(65_535);

/**
 * Every environment variable the API reads, validated once at boot. This is
 * the only module that touches process.env (the Inngest SDK reads its own
 * INNGEST_* variables; they are listed in .env.example).
 */
export const configSchema = z.object({
  NODE_ENV: z.enum(["development", "test", "production"]).default("development"),
  HOST: z.string().min(1).default("127.0.0.1"),
  PORT: port.default(3001),
  LOG_LEVEL: z.enum(["fatal", "error", "warn", "info", "debug", "trace", "silent"]).default("info"),
  LOG_FORMAT: z.enum(["json", "pretty"]).default("json"),
  DATABASE_URL: z.string().url("DATABASE_URL must be a postgres:// URL"),
  DATABASE_POOL_SIZE: z.coerce.number().int().min(1).max(100).default(10),
  SUPABASE_URL: z.string().url("SUPABASE_URL must be a URL").default("http://127.0.0.1:54321"),
  SUPABASE_JWT_SECRET: z.string().min(32, "SUPABASE_JWT_SECRET must be at least 32 characters").optional(),
  CORS_ORIGINS: csv.default(["http://127.0.0.1:3000", "http://localhost:3000"]),
  REQUEST_BODY_LIMIT: z.string().regex(/^\d+(b|kb|mb)$/i, "REQUEST_BODY_LIMIT looks like 100kb").default("100kb"),
  // Long enough for the items in flight to finish and be stored (one generation's worst case).
  SHUTDOWN_TIMEOUT_MS: z.coerce.number().int().min(0).default(30_000),

  // Read by the Inngest SDK itself; listed here so production can refuse an unsafe combination.
  INNGEST_DEV: z.string().optional(),
  INNGEST_SIGNING_KEY: z.string().optional(),

  // The simulated generator (the default): median latency, spread, failure rates.
  SIMULATED_LATENCY_MS: z.coerce.number().int().min(0).max(600_000).default(800),
  SIMULATED_LATENCY_JITTER: z.coerce.number().min(0).max(3).default(0.4),
  SIMULATED_FAILURE_RATE: z.coerce.number().min(0).max(1).default(0.02),
  SIMULATED_PERMANENT_FAILURE_RATE: z.coerce.number().min(0).max(1).default(0),

  // The OpenAI-compatible generator; available to batches only when OPENAI_MODEL is set.
  OPENAI_BASE_URL: z.string().url("OPENAI_BASE_URL must be a URL").optional(),
  OPENAI_API_KEY: z.string().optional(),
  OPENAI_MODEL: z.string().min(1).optional(),
  OPENAI_TIMEOUT_MS: z.coerce.number().int().min(1_000).default(60_000),
  OPENAI_RESPONSE_FORMAT: z.enum(["json_schema", "json_object"]).default("json_schema"),

  // Limits that protect the service: per user, shared by every API process (counted in PostgreSQL).
  RATE_LIMIT_CREATE_BURST: z.coerce.number().int().min(1).default(20),
  RATE_LIMIT_CREATE_PER_MINUTE: z.coerce.number().int().min(1).default(30),
  RATE_LIMIT_CONTROL_BURST: z.coerce.number().int().min(1).default(60),
  RATE_LIMIT_CONTROL_PER_MINUTE: z.coerce.number().int().min(1).default(120),
  STREAMS_PER_USER: z.coerce.number().int().min(1).default(10),
  // A live-stream slot whose process stopped heartbeating it this long ago (the process died) no longer counts.
  STREAM_SLOT_STALE_MS: z.coerce.number().int().min(300).default(30_000),

  // The pipeline.
  BATCH_CHUNK_BUDGET_MS: z.coerce.number().int().min(1_000).max(300_000).default(30_000),
  BATCH_ITEM_MAX_ATTEMPTS: z.coerce.number().int().min(1).max(10).default(3),
  BATCH_ITEM_RETRY_BASE_MS: z.coerce.number().int().min(0).default(1_000),
  // A paused orchestrator looks at the database once per this period even without a resume (a safety net).
  BATCH_PAUSED_WAIT_SECONDS: z.coerce.number().int().min(1).max(604_800).default(86_400),
  // A resumed batch whose orchestrator has not taken it this long after the resume gets a new one.
  BATCH_RESUME_WATCHDOG_MS: z.coerce.number().int().min(100).max(60_000).default(2_000),
  // A generating step heartbeats its lease on the batch this often; a lease this old belongs to a dead runner.
  BATCH_RUNNER_HEARTBEAT_MS: z.coerce.number().int().min(100).default(5_000),
  BATCH_RUNNER_LEASE_STALE_MS: z.coerce.number().int().min(500).default(30_000),
});

export type Config = z.infer<typeof configSchema>;

export class ConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "ConfigError";
  }
}

const LOOPBACK = new BlockList();
LOOPBACK.addSubnet("127.0.0.0", 8, "ipv4");
LOOPBACK.addAddress("0.0.0.0", "ipv4");
LOOPBACK.addAddress("::1", "ipv6");
LOOPBACK.addAddress("::", "ipv6");
LOOPBACK.addSubnet("::ffff:127.0.0.0", 104, "ipv6");

/** True when a URL points at this machine: the local auth stand-in, never a real Supabase project. */
export function isLoopbackUrl(url: string): boolean {
  const host = new URL(url).hostname.replace(/^\[|\]$/g, "").replace(/\.$/, "").toLowerCase();
  if (host === "localhost" || host.endsWith(".localhost")) return true;
  const family = isIP(host);
  return family !== 0 && LOOPBACK.check(host, family === 4 ? "ipv4" : "ipv6");
}

/**
 * With NODE_ENV=production the API refuses settings that are only safe on a developer's machine:
 * Inngest dev mode (unsigned calls to /api/inngest), no signing key, or no real auth server.
 */
function productionProblems(config: Config, present: Record<string, string | undefined>): string[] {
  if (config.NODE_ENV !== "production") return [];
  const problems: string[] = [];
  // The SDK treats INNGEST_DEV as dev mode unless it is "0" or "false" (a URL also means dev).
  const dev = config.INNGEST_DEV?.trim();
  if (dev !== undefined && !["0", "false"].includes(dev.toLowerCase())) {
    problems.push(`INNGEST_DEV=${dev} turns off request signing (set INNGEST_DEV=0 or unset it)`);
  }
  if (!config.INNGEST_SIGNING_KEY) problems.push("INNGEST_SIGNING_KEY is required (Inngest signs every call to /api/inngest with it)");
  if (present.SUPABASE_URL === undefined) {
    problems.push("SUPABASE_URL is required (https://<ref>.supabase.co)");
  } else if (isLoopbackUrl(config.SUPABASE_URL)) {
    problems.push(`SUPABASE_URL=${config.SUPABASE_URL} is this machine (the local auth stand-in), not a Supabase project`);
  }
  return problems;
}

/** Parses the environment; a missing or malformed variable, or an unsafe production setting, is one clear line. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  // An empty value (`OPENAI_MODEL=` in a copied .env.example) means "not set".
  const present = Object.fromEntries(Object.entries(env).filter(([, value]) => value !== undefined && value.trim() !== ""));
  const result = configSchema.safeParse(present);
  if (result.success) {
    const unsafe = productionProblems(result.data, present);
    if (unsafe.length > 0) throw new ConfigError(`Refusing to start with NODE_ENV=production: ${unsafe.join("; ")}`);
    return result.data;
  }
  const problems = result.error.issues.map((issue) => {
    const name = issue.path.join(".");
    return present[name] === undefined ? `${name} is required` : `${name}: ${issue.message}`;
  });
  throw new ConfigError(`Invalid configuration: ${problems.join("; ")}`);
}
