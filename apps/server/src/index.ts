import { createPool } from "@batchgen/db";
import type { Server } from "node:http";
import { createApp } from "./app.ts";
import { createTokenVerifier } from "./auth/token-verifier.ts";
import { ConfigError, loadConfig } from "./config.ts";
import { createLogger } from "./lib/logger.ts";
import { createPipeline, pipelineSettingsFromConfig } from "./container.ts";
import { createInngestClient } from "./inngest/client.ts";

// Boot only: env → db → createApp() → listen → graceful shutdown.
async function main(): Promise<void> {
  let config;
  try {
    config = loadConfig();
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(`${error.message}\n`);
      process.exit(1);
    }
    throw error;
  }

  const logger = createLogger(config.LOG_LEVEL, config.LOG_FORMAT);
  const pool = createPool(config.DATABASE_URL, {
    max: config.DATABASE_POOL_SIZE,
    applicationName: "batchgen-api",
    onIdleError: (error) => logger.warn({ err: error }, "idle database connection lost"),
  });

  const pipeline = createPipeline({
    pool,
    databaseUrl: config.DATABASE_URL,
    logger,
    inngest: createInngestClient(),
    settings: pipelineSettingsFromConfig(config),
  });
  await pipeline.start();

  const app = createApp({
    pool,
    pipeline,
    logger,
    verifyToken: createTokenVerifier({ supabaseUrl: config.SUPABASE_URL, jwtSecret: config.SUPABASE_JWT_SECRET }),
    corsOrigins: config.CORS_ORIGINS,
    bodyLimit: config.REQUEST_BODY_LIMIT,
  });

  const server: Server = app.listen(config.PORT, config.HOST);
  server.on("error", (error: NodeJS.ErrnoException) => {
    if (error.code === "EADDRINUSE") {
      logger.fatal(`Port ${config.PORT} on ${config.HOST} is already in use; stop the other process or set PORT`);
    } else {
      logger.fatal({ err: error }, "server failed");
    }
    process.exit(1);
  });
  server.on("listening", () => logger.info(`API listening on http://${config.HOST}:${config.PORT}`));

  let stopping = false;
  const shutdown = (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info(`${signal} received: finishing in-flight requests`);
    // The window is a hard bound: whatever still hangs when it ends (a request stuck on a lock, a
    // pool that cannot drain, a step that never answers) does not keep the process alive.
    const force = setTimeout(() => {
      logger.error(`shutdown window (${config.SHUTDOWN_TIMEOUT_MS} ms) ended with work still open; exiting`);
      server.closeAllConnections();
      process.exit(1);
    }, config.SHUTDOWN_TIMEOUT_MS);
    force.unref();
    // Chunks stop claiming and answer the engine once their items are stored; streams end.
    pipeline.beginShutdown();
    server.close(() => {
      pipeline
        .stop()
        .then(() => pool.end())
        .catch((error: unknown) => logger.warn({ err: error }, "closing the database pool failed"))
        .finally(() => {
          logger.info("stopped");
          process.exit(0);
        });
    });
    // Keep-alive connections that finish their last request later must be closed too.
    const idle = setInterval(() => server.closeIdleConnections(), 200);
    idle.unref();
    server.closeIdleConnections();
  };
  process.on("SIGINT", () => shutdown("SIGINT"));
  process.on("SIGTERM", () => shutdown("SIGTERM"));
}

await main();
