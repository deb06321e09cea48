import type { AuthUser } from "@batchgen/types";
import type { NextFunction, Request, RequestHandler, Response } from "express";
import { AppError, unauthorized } from "../errors/app-error.ts";
import { InvalidTokenError, type TokenVerifier } from "../auth/token-verifier.ts";

const BEARER = /^Bearer ([A-Za-z0-9_-]+\.[A-Za-z0-9_-]*\.[A-Za-z0-9_-]*)$/;

/** Requires a valid Supabase access token and attaches the caller as req.user. */
export function requireAuth(verify: TokenVerifier): RequestHandler {
  return async (req: Request, _res: Response, next: NextFunction) => {
    const header = req.headers.authorization;
    if (!header) throw unauthorized("Missing Authorization header (expected: Bearer <access token>)");
    const match = BEARER.exec(header.trim());
    if (!match?.[1]) throw unauthorized("Authorization header must be: Bearer <access token>");
    try {
      req.user = await verify(match[1]);
    } catch (error) {
      if (error instanceof InvalidTokenError) throw unauthorized(error.message);
      // AuthUnavailableError (or anything unforeseen): the token may be fine, we could not check it.
      // A 401 would sign the user out; a 503 with Retry-After asks the client to try again.
      throw new AppError("UNAVAILABLE", "Could not reach the auth service to verify the token", undefined, {
        "Retry-After": "5",
      });
    }
    next();
  };
}

/** The authenticated caller; only call behind requireAuth. */
export function currentUser(req: Request): AuthUser {
  if (!req.user) throw unauthorized();
  return req.user;
}
