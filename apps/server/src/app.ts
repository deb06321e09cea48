import type { Pool } from "@batchgen/db";
import express, { type Express } from "express";
import type { Logger } from "pino";
import { pinoHttp } from "pino-http";
import type { TokenVerifier } from "./auth/token-verifier.ts";
import { requireAuth } from "./middleware/auth.middleware.ts";
import { createCors } from "./middleware/cors.middleware.ts";
import { createErrorMiddleware, notFoundRoute } from "./middleware/error.middleware.ts";
import { requestId } from "./middleware/request-id.middleware.ts";
import { createHealthRouter } from "./routes/health.routes.ts";
import { createMeRouter } from "./routes/me.routes.ts";

export interface AppDependencies {
  readonly pool: Pool;
  readonly logger: Logger;
  readonly verifyToken: TokenVerifier;
  readonly corsOrigins?: readonly string[];
  readonly bodyLimit?: string;
  /** Log every request (off in tests to keep output readable). */
  readonly logRequests?: boolean;
}

/** Builds the Express app: middleware, routes, error handling. Never listens. */
export function createApp(deps: AppDependencies): Express {
  const app = express();
  app.disable("x-powered-by");
  app.set("trust proxy", false);
  app.set("query parser", "simple");

  app.use(requestId);
  if (deps.logRequests ?? true) {
    app.use(
      pinoHttp({
        logger: deps.logger,
        genReqId: (req) => (req as express.Request).id,
        customLogLevel: (_req, res, error) => (error || res.statusCode >= 500 ? "error" : res.statusCode >= 400 ? "warn" : "info"),
        serializers: { req: (req: { method: string; url: string }) => ({ method: req.method, url: req.url }) },
      }),
    );
  }
  app.use(createCors(deps.corsOrigins ?? []));
  app.use(express.json({ limit: deps.bodyLimit ?? "100kb" }));

  app.use(createHealthRouter(deps.pool));

  const api = express.Router();
  api.use(requireAuth(deps.verifyToken));
  api.use(createMeRouter());
  app.use("/api/v1", api);

  app.use(notFoundRoute);
  app.use(createErrorMiddleware(deps.logger));
  return app;
}
