import type { Pool } from "@batchgen/db";
import type { NextFunction, Request, RequestHandler, Response } from "express";
import type { Logger } from "pino";
import { RateLimiterPostgres, RateLimiterRes } from "rate-limiter-flexible";
import { AppError } from "../errors/app-error.ts";
import type { StreamSlots } from "../lib/stream-slots.ts";

export interface RateLimitOptions {
  /** Requests allowed at once (the most a window allows). */
  readonly burst: number;
  /** Sustained requests per minute (the average rate the windows allow). */
  readonly perMinute: number;
}

/** The library's table; created by our migration (supabase/migrations/…_shared_limits.sql). */
export const RATE_LIMIT_TABLE = "rate_limits";

/**
 * `burst` requests per fixed window of `burst / perMinute` minutes: at most `burst` at once, and
 * `perMinute` per minute on average. A window starts at a user's first request in it.
 */
export function windowSeconds(options: RateLimitOptions): number {
  return Math.max(1, Math.round((options.burst / options.perMinute) * 60));
}

/** The database could not count the request: 503, like every other route without its database. */
function limiterUnavailable(logger: Logger, what: string, error: unknown): AppError {
  logger.warn({ err: error, limit: what }, "limit store unreachable: answering 503 (docs/decisions/shared-limits.md)");
  return new AppError("UNAVAILABLE", "The database is temporarily unavailable; try again shortly", undefined, { "Retry-After": "5" });
}

/**
 * Per user and route group, counted in PostgreSQL by rate-limiter-flexible (RateLimiterPostgres),
 * so every API process shares one budget. Over it: 429 RATE_LIMITED with Retry-After (seconds until
 * the window ends). The store unreachable: 503 UNAVAILABLE with Retry-After.
 */
export function rateLimit(group: string, options: RateLimitOptions, deps: { pool: Pool; logger: Logger }): RequestHandler {
  const limiter = new RateLimiterPostgres({
    storeClient: deps.pool,
    storeType: "pool",
    tableName: RATE_LIMIT_TABLE,
    tableCreated: true,
    keyPrefix: `api:${group}`,
    points: options.burst,
    duration: windowSeconds(options),
  });

  return async (req: Request, res: Response, next: NextFunction) => {
    const key = req.user?.sub ?? req.ip ?? "anonymous";
    let result: RateLimiterRes;
    try {
      result = await limiter.consume(key);
    } catch (rejection) {
      if (!(rejection instanceof RateLimiterRes)) throw limiterUnavailable(deps.logger, group, rejection);
      const retryAfter = Math.max(1, Math.ceil(rejection.msBeforeNext / 1000));
      throw new AppError(
        "RATE_LIMITED",
        `Too many ${group} requests; try again in ${retryAfter} s`,
        { group, retryAfterSeconds: retryAfter },
        { "Retry-After": String(retryAfter) },
      );
    }
    res.setHeader("RateLimit-Remaining", String(result.remainingPoints));
    next();
  };
}

/**
 * At most `limit` open streams per user across every API process (StreamSlots); the slot is freed
 * when the stream closes, or stops counting when its process dies.
 */
export function streamLimit(limit: number, slots: StreamSlots, logger: Logger): RequestHandler {
  return async (req: Request, res: Response, next: NextFunction) => {
    const key = req.user?.sub ?? "anonymous";
    let slot: string | null;
    try {
      slot = await slots.acquire(key, limit);
    } catch (error) {
      throw limiterUnavailable(logger, "streams", error);
    }
    if (slot === null) {
      throw new AppError("RATE_LIMITED", `At most ${limit} live streams per user; close one first`, { limit }, { "Retry-After": "5" });
    }
    const taken = slot;
    if (res.closed) slots.release(taken);
    else res.on("close", () => slots.release(taken));
    next();
  };
}

/** The limits the generation routes mount, built once per process (container.ts). */
export interface GenerationLimiters {
  readonly create: RequestHandler;
  readonly control: RequestHandler;
  readonly stream: RequestHandler;
}
