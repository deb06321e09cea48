import type { NextFunction, Request, RequestHandler, Response } from "express";
import { AppError } from "../errors/app-error.ts";

export interface RateLimitOptions {
  /** Requests allowed at once (the bucket's size). */
  readonly burst: number;
  /** Sustained requests per minute (the refill rate). */
  readonly perMinute: number;
}

interface Bucket {
  tokens: number;
  updatedAt: number;
}

/**
 * A token bucket per user and route group, in this process's memory. With
 * several API processes each enforces its own budget; that bounds the damage a
 * runaway client can do, which is the point, without another moving part.
 */
export function rateLimit(group: string, options: RateLimitOptions, now: () => number = Date.now): RequestHandler {
  const buckets = new Map<string, Bucket>();
  const refillPerMs = options.perMinute / 60_000;
  let lastSweep = now();

  return (req: Request, res: Response, next: NextFunction) => {
    const key = req.user?.sub ?? req.ip ?? "anonymous";
    const time = now();
    if (time - lastSweep > 60_000) {
      // Forget full buckets so idle users cost nothing.
      for (const [id, bucket] of buckets) {
        if (bucket.tokens + (time - bucket.updatedAt) * refillPerMs >= options.burst) buckets.delete(id);
      }
      lastSweep = time;
    }
    const bucket = buckets.get(key) ?? { tokens: options.burst, updatedAt: time };
    bucket.tokens = Math.min(options.burst, bucket.tokens + (time - bucket.updatedAt) * refillPerMs);
    bucket.updatedAt = time;
    buckets.set(key, bucket);
    if (bucket.tokens < 1) {
      const retryAfter = Math.max(1, Math.ceil((1 - bucket.tokens) / refillPerMs / 1000));
      throw new AppError(
        "RATE_LIMITED",
        `Too many ${group} requests; try again in ${retryAfter} s`,
        { group, retryAfterSeconds: retryAfter },
        { "Retry-After": String(retryAfter) },
      );
    }
    bucket.tokens -= 1;
    res.setHeader("RateLimit-Remaining", String(Math.floor(bucket.tokens)));
    next();
  };
}

/** At most `limit` open streams per user in this process; the slot is released when the stream closes. */
export function streamLimit(limit: number): RequestHandler {
  const open = new Map<string, number>();
  return (req: Request, res: Response, next: NextFunction) => {
    const key = req.user?.sub ?? "anonymous";
    const current = open.get(key) ?? 0;
    if (current >= limit) {
      throw new AppError("RATE_LIMITED", `At most ${limit} live streams per user; close one first`, { limit }, { "Retry-After": "5" });
    }
    open.set(key, current + 1);
    let released = false;
    const release = () => {
      if (released) return;
      released = true;
      const remaining = (open.get(key) ?? 1) - 1;
      if (remaining <= 0) open.delete(key);
      else open.set(key, remaining);
    };
    res.on("close", release);
    next();
  };
}
