import { z } from "zod";

/** Every error the API can answer with, and the HTTP status each maps to. */
export const ERROR_STATUS = {
  VALIDATION_ERROR: 400,
  UNAUTHORIZED: 401,
  FORBIDDEN: 403,
  NOT_FOUND: 404,
  INVALID_TRANSITION: 409,
  PAYLOAD_TOO_LARGE: 413,
  UNSUPPORTED_MEDIA_TYPE: 415,
  /** The Idempotency-Key was already used for a different request (docs/decisions/idempotency-keys.md). */
  IDEMPOTENCY_CONFLICT: 422,
  RATE_LIMITED: 429,
  INTERNAL_ERROR: 500,
  UNAVAILABLE: 503,
} as const;
export type ErrorCode = keyof typeof ERROR_STATUS;
export const ERROR_CODES = Object.keys(ERROR_STATUS) as ErrorCode[];

export interface ApiError {
  readonly code: ErrorCode;
  readonly message: string;
  readonly details?: Record<string, unknown>;
}

/** The one response shape: `{ data, error }`, exactly one of them non-null. */
export type ApiEnvelope<T> = { readonly data: T; readonly error: null } | { readonly data: null; readonly error: ApiError };

export const apiErrorSchema = z.object({
  code: z.enum(ERROR_CODES as [ErrorCode, ...ErrorCode[]]),
  message: z.string(),
  details: z.record(z.string(), z.unknown()).optional(),
});

export function envelopeSchema<T extends z.ZodType>(data: T) {
  return z.object({ data, error: z.null() });
}

export const errorEnvelopeSchema = z.object({ data: z.null(), error: apiErrorSchema });

export const APP_ROLES = ["faculty", "student", "admin"] as const;
export type AppRole = (typeof APP_ROLES)[number];

/** The authenticated caller, as the API derives it from a verified access token. */
export interface AuthUser {
  readonly sub: string;
  readonly email: string;
  /** From app_metadata.role; null when the account has no app role (it can sign in, but not use role-gated routes). */
  readonly role: AppRole | null;
  readonly institution_id: string | null;
}
