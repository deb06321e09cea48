import { isDeepStrictEqual } from "node:util";
import type { Request, Response } from "express";
import { AppError, validationError } from "../errors/app-error.ts";

/** How long a key's first response is kept and replayed (docs/decisions/idempotency-keys.md). */
export const IDEMPOTENCY_TTL = "24 hours";

const IDEMPOTENCY_KEY = /^[\x21-\x7e]{1,255}$/;

/** The Idempotency-Key header, if sent: 1–255 visible ASCII characters, otherwise a 400 naming it. */
export function readIdempotencyKey(req: Request): string | undefined {
  const header = req.get("Idempotency-Key");
  if (header !== undefined && !IDEMPOTENCY_KEY.test(header)) {
    throw validationError("Idempotency-Key must be 1–255 visible ASCII characters", { field: "Idempotency-Key" });
  }
  return header;
}

/**
 * The top-level fields in which two requests in canonical form differ, sorted. Canonical form is
 * what the server acts on after validation (defaults filled in, surrounding whitespace trimmed) as
 * a JSON object: two requests are the same when these are deeply equal, whatever their key order
 * or formatting on the wire. A missing field and null are the same.
 */
export function differingFields(first: object, second: object): string[] {
  const a = first as Record<string, unknown>;
  const b = second as Record<string, unknown>;
  const keys = new Set([...Object.keys(a), ...Object.keys(b)]);
  return [...keys].filter((key) => !isDeepStrictEqual(a[key] ?? null, b[key] ?? null)).sort();
}

/**
 * Sends `{ data, error: null }` around data already serialized as JSON: the bytes res.json() sends
 * for the same value. The first answer to an Idempotency-Key is serialized once, and that text is
 * both stored (in a `json` column, which keeps it as written) and sent; its replay sends the stored
 * text. So a replay is the first answer byte for byte, key order included, and has the same ETag.
 */
export function sendSerializedData(res: Response, statusCode: number, dataJson: string): void {
  res.status(statusCode).type("json").send(`{"data":${dataJson},"error":null}`);
}

/** 422: the key was already used for a request that differs in `fields`; nothing was done. */
export function idempotencyConflict(key: string, what: string, fields: readonly string[], details: Record<string, unknown> = {}): AppError {
  return new AppError(
    "IDEMPOTENCY_CONFLICT",
    `Idempotency-Key "${key}" was already used ${what} with a different request (${fields.join(", ")} differ); use a new key for a new request`,
    { idempotencyKey: key, fields: [...fields], ...details },
  );
}
