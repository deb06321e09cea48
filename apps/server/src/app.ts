import type { Pool } from "@batchgen/db";
import type { IncomingMessage, ServerResponse } from "node:http";
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
import { createGenerationRouter } from "./routes/generation.routes.ts";
import { serve } from "inngest/express";
import type { Pipeline } from "./container.ts";
import { buildOpenApiDocument } from "./openapi.ts";

export interface AppDependencies {
  readonly pool: Pool;
  readonly logger: Logger;
  readonly verifyToken: TokenVerifier;
  readonly corsOrigins?: readonly string[];
  readonly bodyLimit?: string;
  /** Log every request (off in tests to keep output readable). */
  readonly logRequests?: boolean;
  /** The batch pipeline: its routes and the Inngest functions served at /api/inngest. */
  readonly pipeline?: Pipeline;
}

// Inngest sends whole run state (up to 4 MB of step output) in one request.
const INNGEST_BODY_LIMIT = "5mb";

/**
 * A 503 (a dependency is down) is expected and says so itself: a warning. The engine calls
 * /api/inngest many times a second and probes /health: those stay at debug unless they fail.
 */
export function requestLogLevel(req: IncomingMessage, res: ServerResponse, error?: Error): "error" | "warn" | "info" | "debug" {
  if (res.statusCode === 503) return "warn";
  if (error || res.statusCode >= 500) return "error";
  if (res.statusCode >= 400) return "warn";
  const path = requestPath(req);
  return path.startsWith("/api/inngest") || path === "/health" ? "debug" : "info";
}

/** The path as the client sent it: inside a mounted router Express rewrites `req.url` ("/api/inngest" becomes "/"). */
function requestPath(req: IncomingMessage): string {
  const original = (req as Partial<Pick<express.Request, "originalUrl">>).originalUrl;
  return (original ?? req.url ?? "").split("?")[0] ?? "";
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
        customLogLevel: requestLogLevel,
        customSuccessMessage: (req, res, responseTime) => `${req.method} ${requestPath(req)} ${res.statusCode} ${Math.round(responseTime)}ms`,
        customErrorMessage: (req, res) => `${req.method} ${requestPath(req)} ${res.statusCode}`,
        serializers: {
          req: (req: { method: string; url: string }) => ({ method: req.method, url: req.url }),
          res: (res: { statusCode: number }) => ({ statusCode: res.statusCode }),
        },
      }),
    );
  }
  app.use(createCors(deps.corsOrigins ?? []));
  if (deps.pipeline) {
    // Authenticated by Inngest request signatures (in cloud mode), not by user tokens.
    app.use(
      "/api/inngest",
      express.json({ limit: INNGEST_BODY_LIMIT }),
      serve({ client: deps.pipeline.inngest, functions: deps.pipeline.functions }) as express.RequestHandler,
    );
  }
  app.use(express.json({ limit: deps.bodyLimit ?? "100kb" }));

  // The check's own connection (the pipeline's health pool): a busy main pool is not a database
  // that is down. An app without the pipeline (tests of auth and errors) checks on its main pool.
  app.use(createHealthRouter(deps.pipeline?.healthPool ?? deps.pool));
  const openapi = buildOpenApiDocument();
  app.get("/openapi.json", (_req, res) => void res.json(openapi));

  const api = express.Router();
  api.use(requireAuth(deps.verifyToken));
  api.use(createMeRouter());
  if (deps.pipeline) api.use(createGenerationRouter(deps.pipeline.batchController, deps.pipeline.batchControlController, deps.pipeline.questionExportController, deps.pipeline.limiters));
  app.use("/api/v1", api);

  app.use(notFoundRoute);
  app.use(createErrorMiddleware(deps.logger));
  return app;
}
