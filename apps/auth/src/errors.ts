import type { Request, Response } from "express";

/**
 * GoTrue's error codes that this stand-in can produce. supabase-js turns the
 * code into `AuthApiError.code`, and callers branch on it, so the spelling
 * must match upstream exactly.
 */
export type AuthErrorCode =
  | "bad_json"
  | "validation_failed"
  | "invalid_credentials"
  | "email_not_confirmed"
  | "phone_provider_disabled"
  | "refresh_token_not_found"
  | "refresh_token_already_used"
  | "session_not_found"
  | "session_expired"
  | "no_authorization"
  | "bad_jwt"
  | "user_not_found"
  | "request_timeout"
  | "not_found"
  | "method_not_allowed"
  | "request_too_large"
  | "unexpected_failure";

/** The one error type of the stand-in: an HTTP status, a GoTrue error code and a message. */
export class AuthHttpError extends Error {
  readonly status: number;
  readonly errorCode: AuthErrorCode;

  constructor(status: number, errorCode: AuthErrorCode, message: string) {
    super(message);
    this.name = "AuthHttpError";
    this.status = status;
    this.errorCode = errorCode;
  }
}

export const API_VERSION_HEADER = "X-Supabase-Api-Version";
const API_VERSION_2024_01_01 = "2024-01-01";
const API_VERSION_PATTERN = /^\d{4}-\d{2}-\d{2}$/;

/**
 * GoTrue answers in one of two shapes depending on the API version the client
 * asked for. supabase-js sends `X-Supabase-Api-Version: 2024-01-01` and then
 * reads `code` as the error code (only if the response echoes the header);
 * older clients read `error_code`. Serving both keeps every client honest.
 */
function requestedModernApi(req: Request): boolean {
  const header = req.get(API_VERSION_HEADER);
  if (!header || !API_VERSION_PATTERN.test(header)) {
    return false;
  }
  return header >= API_VERSION_2024_01_01;
}

export function sendAuthError(
  req: Request,
  res: Response,
  error: AuthHttpError,
): void {
  if (requestedModernApi(req)) {
    res.set(API_VERSION_HEADER, API_VERSION_2024_01_01);
    res
      .status(error.status)
      .json({ code: error.errorCode, message: error.message });
    return;
  }
  res.status(error.status).json({
    code: error.status,
    error_code: error.errorCode,
    msg: error.message,
  });
}

export function badRequest(
  errorCode: AuthErrorCode,
  message: string,
): AuthHttpError {
  return new AuthHttpError(400, errorCode, message);
}

export function forbidden(
  errorCode: AuthErrorCode,
  message: string,
): AuthHttpError {
  return new AuthHttpError(403, errorCode, message);
}
