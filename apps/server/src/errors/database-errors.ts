import type { Request } from "express";
import { AppError } from "./app-error.ts";

/** What node-postgres reports for an error the server raised (a DatabaseError). */
interface PostgresError extends Error {
  readonly code: string;
  readonly severity: string;
  readonly constraint?: string;
}

export function isPostgresError(error: unknown): error is PostgresError {
  const candidate = error as Partial<PostgresError> | null;
  return error instanceof Error && typeof candidate?.code === "string" && /^[0-9A-Z]{5}$/.test(candidate.code) && typeof candidate.severity === "string";
}

/**
 * Foreign keys from our tables to `auth.users`. A row that cannot be written because its user is
 * gone means the token outlived its account: 401. Checked against the migrated schema by
 * test/fault/database-errors.test.ts, so a new one cannot be forgotten.
 */
export const USER_FOREIGN_KEYS: ReadonlySet<string> = new Set([
  "batch_jobs_user_id_fkey",
  "batch_control_events_actor_id_fkey",
  "control_idempotency_keys_user_id_fkey",
  "batch_create_idempotency_keys_user_id_fkey",
]);

// SQLSTATE class 22 (data exception): what the value was, in words a client can act on.
const DATA_EXCEPTION_REASONS: Record<string, string> = {
  "22001": "is too long",
  "22003": "is out of range",
  "22007": "is not a valid date and time",
  "22008": "is not a valid date and time",
  "22021": "contains a character that cannot be stored (such as NUL)",
  "22P02": "is not in a valid format",
  "22P05": "contains a character that cannot be stored (such as NUL)",
};

type Matcher = (value: string | number | boolean) => boolean;

/**
 * The request's inputs as (field, value) pairs: path parameters (or, where the router has already
 * let go of them, the path's segments as `path`), query, body (nested, dotted), and what a cursor decodes to.
 */
function* requestValues(req: Request): Generator<[string, string | number | boolean]> {
  function* walk(prefix: string, value: unknown, depth: number): Generator<[string, string | number | boolean]> {
    if (typeof value === "string" || typeof value === "number" || typeof value === "boolean") {
      yield [prefix, value];
    } else if (value !== null && typeof value === "object" && depth < 8) {
      for (const [key, child] of Object.entries(value)) yield* walk(prefix ? `${prefix}.${key}` : key, child, depth + 1);
    }
  }
  yield* walk("", req.params ?? {}, 0);
  const query = (req.query ?? {}) as Record<string, unknown>;
  yield* walk("", query, 0);
  if (typeof query.cursor === "string") {
    try {
      for (const [, value] of walk("", JSON.parse(Buffer.from(query.cursor, "base64url").toString("utf8")), 0)) yield ["cursor", value];
    } catch {
      // not JSON: nothing more to look at
    }
  }
  yield* walk("", req.body, 0);
  for (const segment of req.path.split("/")) {
    try {
      if (segment) yield ["path", decodeURIComponent(segment)];
    } catch {
      // not valid percent-encoding: the router answered 404 before any query ran
    }
  }
}

/** The first input the database's complaint is about, when the request says which. */
function findField(req: Request, error: PostgresError): string | undefined {
  const quoted = [...error.message.matchAll(/"([^"]*)"/g)].map((match) => match[1]!);
  const matchers: Matcher[] = [];
  if (error.code === "22021" || error.code === "22P05") matchers.push((value) => typeof value === "string" && value.includes("\u0000"));
  // "value too long for type character varying(5)": the first string longer than that.
  const limit = error.code === "22001" ? /\((\d+)\)/.exec(error.message)?.[1] : undefined;
  if (limit !== undefined) matchers.push((value) => typeof value === "string" && [...value].length > Number(limit));
  for (const text of quoted) matchers.push((value) => String(value) === text);
  for (const matches of matchers) {
    for (const [field, value] of requestValues(req)) if (field && matches(value)) return field;
  }
  return undefined;
}

/**
 * PostgreSQL refused a value the schemas let through (SQLSTATE class 22) or a row whose user no
 * longer exists (a foreign key to auth.users). Both are the request's problem, not ours: 400 naming
 * the field where the request shows it, and 401. Anything else is not translated here.
 */
export function fromDatabaseError(error: unknown, req: Request): AppError | undefined {
  if (!isPostgresError(error)) return undefined;
  if (error.code.startsWith("22")) {
    const field = findField(req, error);
    const reason = DATA_EXCEPTION_REASONS[error.code] ?? "is not a value the database accepts";
    return new AppError("VALIDATION_ERROR", `${field ?? "a value in the request"}: ${reason}`, field ? { field, sqlstate: error.code } : { sqlstate: error.code });
  }
  if (error.code === "23503" && error.constraint !== undefined && USER_FOREIGN_KEYS.has(error.constraint)) {
    return new AppError("UNAUTHORIZED", "The account this access token belongs to no longer exists; sign in again");
  }
  return undefined;
}
