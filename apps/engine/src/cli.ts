import { readEngineEnv, type EngineEnv } from "./config.ts";
import { startEngine } from "./engine.ts";

let env: EngineEnv;
try {
  env = readEngineEnv(process.env);
} catch (error) {
  console.error((error as Error).message);
  process.exit(1);
}
const engine = await startEngine({
  databaseUrl: env.DATABASE_URL,
  port: env.ENGINE_PORT,
  host: env.ENGINE_HOST,
  appUrls:
    env.ENGINE_APP_URL?.split(",")
      .map((url) => url.trim())
      .filter(Boolean) ?? [],
  signingKey: env.INNGEST_SIGNING_KEY,
  eventKey: env.INNGEST_EVENT_KEY,
  runRetentionDays: env.ENGINE_RUN_RETENTION_DAYS,
  log: (line) => console.log(`${new Date().toISOString()} ${line}`),
  backoffScale: env.ENGINE_BACKOFF_SCALE,
  fastPath: env.ENGINE_FAST_PATH === "on",
});

let stopping = false;
const stop = (signal: string): void => {
  if (stopping) return;
  stopping = true;
  console.log(`engine stopping (${signal})`);
  engine.close().then(
    () => process.exit(0),
    (error: unknown) => {
      console.error(error);
      process.exit(1);
    },
  );
};
process.on("SIGINT", () => stop("SIGINT"));
process.on("SIGTERM", () => stop("SIGTERM"));
