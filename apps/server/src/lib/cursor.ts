import { z } from "zod";
import { validationError } from "../errors/app-error.ts";

/** Opaque pagination cursors: base64url JSON, validated on the way back in. */
export function encodeCursor(value: Record<string, string | number>): string {
  return Buffer.from(JSON.stringify(value)).toString("base64url");
}

/**
 * Decodes a cursor and checks it against `schema`: a cursor is client input, so everything in it
 * must be a value the database accepts (see itemCursorSchema, batchCursorSchema).
 */
export function decodeCursor<S extends z.ZodType>(cursor: string, schema: S): z.output<S> {
  try {
    const result = schema.safeParse(JSON.parse(Buffer.from(cursor, "base64url").toString("utf8")));
    if (result.success) return result.data;
  } catch {
    // fall through to the same error
  }
  throw validationError("cursor is malformed; use the nextCursor of a previous page", { field: "cursor" });
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export function isUuid(value: unknown): value is string {
  return typeof value === "string" && UUID.test(value);
}

/** The largest PostgreSQL `integer` (int4): positions are stored as one. */
export const INT4_MAX = 2_147_483_647;

const CURSOR_TIMESTAMP = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.\d{1,6})?Z$/;

/**
 * Exactly the shape the list writes (`YYYY-MM-DDTHH:MM:SS.ffffffZ`, UTC) and a real instant:
 * year 1–9999, a day that exists in its month, no hour 24 or second 60.
 */
export function isCursorTimestamp(value: string): boolean {
  const match = CURSOR_TIMESTAMP.exec(value);
  if (!match) return false;
  const [year, month, day, hour, minute, second] = match.slice(1, 7).map(Number) as [number, number, number, number, number, number];
  if (year < 1 || hour > 23 || minute > 59 || second > 59) return false;
  const date = new Date(0);
  date.setUTCFullYear(year, month - 1, day);
  return date.getUTCFullYear() === year && date.getUTCMonth() === month - 1 && date.getUTCDate() === day;
}

/** The items list's cursor: the last position seen, an int4 like the column it is compared with. */
export const itemCursorSchema = z.object({ position: z.number().int().min(0).max(INT4_MAX) });

/** The batches list's cursor: the last row's creation time and id. */
export const batchCursorSchema = z.object({
  createdAt: z.string().refine(isCursorTimestamp),
  id: z.string().regex(UUID),
});
