import type { ApiError } from "@batchgen/types";
import type { NextFunction, Request, Response } from "express";
import type { Logger } from "pino";
import { AppError } from "../errors/app-error.ts";
import { fromDatabaseError } from "../errors/database-errors.ts";

interface BodyParserError extends Error {
  type?: string;
  status?: number;
  expose?: boolean;
}

// node-postgres error codes that mean "the database is not there right now".
const DATABASE_DOWN = new Set(["ECONNREFUSED", "ECONNRESET", "ETIMEDOUT", "EPIPE", "57P01", "57P02", "57P03", "08000", "08003", "08006", "08001", "53300"]);

function isDatabaseDown(error: unknown): boolean {
  if (!(error instanceof Error)) return false;
  const code = (error as { code?: unknown }).code;
  if (typeof code === "string" && DATABASE_DOWN.has(code)) return true;
  return /Connection terminated|connection timeout|timeout exceeded when trying to connect/i.test(error.message);
}

/** Translates anything thrown into the envelope; never leaks a stack trace. */
export function toAppError(error: unknown): AppError {
  if (error instanceof AppError) return error;
  const parserError = error as BodyParserError;
  switch (parserError?.type) {
    case "entity.parse.failed":
      return new AppError("VALIDATION_ERROR", "Request body is not valid JSON");
    case "entity.too.large":
      return new AppError("PAYLOAD_TOO_LARGE", "Request body is too large");
    case "encoding.unsupported":
    case "charset.unsupported":
      return new AppError("UNSUPPORTED_MEDIA_TYPE", "Request body encoding is not supported");
    case "request.aborted":
      return new AppError("VALIDATION_ERROR", "Request body was not received completely");
    default:
      break;
  }
  // The router could not percent-decode a path segment: no resource has such a name.
  if (error instanceof URIError) return new AppError("NOT_FOUND", "No resource at this path (it is not valid percent-encoding)");
  if (parserError?.status && parserError.status >= 400 && parserError.status < 500) {
    return new AppError("VALIDATION_ERROR", "Request could not be read");
  }
  if (isDatabaseDown(error)) {
    return new AppError("UNAVAILABLE", "The database is temporarily unavailable; try again shortly", undefined, {
      "Retry-After": "5",
    });
  }
  return new AppError("INTERNAL_ERROR", "Something went wrong on our side; it has been logged");
}

export function createErrorMiddleware(logger: Logger) {
  return (error: unknown, req: Request, res: Response, _next: NextFunction): void => {
    const fromDatabase = fromDatabaseError(error, req);
    const appError = fromDatabase ?? toAppError(error);
    if (fromDatabase) {
      // A schema let through what the database refused: answered as the client's error, logged to be closed.
      logger.warn({ requestId: req.id, method: req.method, path: req.path, sqlstate: (error as { code?: unknown }).code, answer: appError.code }, "database refused a request value");
    } else if (appError.code === "UNAVAILABLE") {
      // Expected while a dependency is down: one line, no stack.
      const reason = error instanceof Error ? error.message : String(appError.message);
      logger.warn({ requestId: req.id, method: req.method, path: req.path, reason }, "dependency unavailable");
    } else if (appError.status >= 500) {
      logger.error({ err: error, requestId: req.id, method: req.method, path: req.path }, "request failed");
    }
    if (res.headersSent) {
      res.end();
      return;
    }
    for (const [name, value] of Object.entries(appError.headers ?? {})) res.setHeader(name, value);
    const body: ApiError = appError.details
      ? { code: appError.code, message: appError.message, details: appError.details }
      : { code: appError.code, message: appError.message };
    res.status(appError.status).json({ data: null, error: body });
  };
}

export function notFoundRoute(req: Request, _res: Response): void {
  throw new AppError("NOT_FOUND", `No route for ${req.method} ${req.path}`);
}
