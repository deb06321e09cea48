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

  // Limits that protect the service (per user, per API process).
  RATE_LIMIT_CREATE_BURST: z.coerce.number().int().min(1).default(20),
  RATE_LIMIT_CREATE_PER_MINUTE: z.coerce.number().int().min(1).default(30),
  RATE_LIMIT_CONTROL_BURST: z.coerce.number().int().min(1).default(60),
  RATE_LIMIT_CONTROL_PER_MINUTE: z.coerce.number().int().min(1).default(120),
  STREAMS_PER_USER: z.coerce.number().int().min(1).default(10),

  // The pipeline.
  BATCH_CHUNK_BUDGET_MS: z.coerce.number().int().min(1_000).max(300_000).default(30_000),
  BATCH_ITEM_MAX_ATTEMPTS: z.coerce.number().int().min(1).max(10).default(3),
  BATCH_ITEM_RETRY_BASE_MS: z.coerce.number().int().min(0).default(1_000),
  BATCH_RESUME_WAIT_SECONDS: z.coerce.number().int().min(1).max(3_600).default(10),
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

/** Parses the environment; a missing or malformed variable is one clear line. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  // An empty value (`OPENAI_MODEL=` in a copied .env.example) means "not set".
  const present = Object.fromEntries(Object.entries(env).filter(([, value]) => value !== undefined && value.trim() !== ""));
  const result = configSchema.safeParse(present);
  if (result.success) return result.data;
  const problems = result.error.issues.map((issue) => {
    const name = issue.path.join(".");
    return present[name] === undefined ? `${name} is required` : `${name}: ${issue.message}`;
  });
  throw new ConfigError(`Invalid configuration: ${problems.join("; ")}`);
}
