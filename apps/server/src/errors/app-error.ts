import { ERROR_STATUS, type ErrorCode } from "@batchgen/types";

/**
 * The one error class the API answers with. Its code decides the HTTP status
 * (ERROR_STATUS); its message is safe to show to a user; details are optional
 * structured facts (never a stack trace).
 */
export class AppError extends Error {
  readonly status: number;

  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly details?: Record<string, unknown>,
    readonly headers?: Record<string, string>,
  ) {
    super(message);
    this.name = "AppError";
    this.status = ERROR_STATUS[code];
  }
}

export function forbidden(message = "You do not have access to this resource"): AppError {
  return new AppError("FORBIDDEN", message);
}

export function unauthorized(message = "Authentication required"): AppError {
  return new AppError("UNAUTHORIZED", message);
}

export function validationError(message: string, details?: Record<string, unknown>): AppError {
  return new AppError("VALIDATION_ERROR", message, details);
}
