import { z } from "zod";

const envSchema = z.object({
  DATABASE_URL: z.string({ error: "required (a PostgreSQL connection string)" }).min(1, "required (a PostgreSQL connection string)"),
  ENGINE_PORT: z.coerce.number().int().min(0).max(65_535).default(8288),
  ENGINE_HOST: z.string().default("127.0.0.1"),
  ENGINE_APP_URL: z.string().optional(),
  INNGEST_SIGNING_KEY: z.string().optional(),
  INNGEST_EVENT_KEY: z.string().optional(),
  /** Days ended runs are kept (startEngine's runRetentionDays, the same bounds as queue/retention.ts): at least 1, default 7. */
  ENGINE_RUN_RETENTION_DAYS: z.coerce.number().min(1, "at least 1 (day)").default(7),
  /** Test knob for child-process tests; leave unset. */
  ENGINE_BACKOFF_SCALE: z.coerce.number().positive().optional(),
  /** Test knob: "off" sends every SDK answer through the TypeScript path (startEngine's fastPath); leave unset. */
  ENGINE_FAST_PATH: z.enum(["on", "off"]).default("on"),
});

export type EngineEnv = z.infer<typeof envSchema>;

/** Reads the CLI's environment once, failing fast with a readable message. */
export function readEngineEnv(env: NodeJS.ProcessEnv): EngineEnv {
  const parsed = envSchema.safeParse(env);
  if (!parsed.success) {
    throw new Error(
      `engine configuration is invalid: ${parsed.error.issues.map((issue) => `${issue.path.join(".")}: ${issue.message}`).join("; ")}`,
    );
  }
  return parsed.data;
}
