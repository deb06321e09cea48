import type { z } from "zod";
import { validationError } from "../errors/app-error.ts";

/** Parses with a zod schema; a failure is a 400 VALIDATION_ERROR naming the first bad field. */
export function parseOrThrow<S extends z.ZodType>(schema: S, input: unknown, where = "body"): z.output<S> {
  const result = schema.safeParse(input);
  if (result.success) return result.data;
  const issues = result.error.issues.map((issue) => {
    const unknownKeys = issue.code === "unrecognized_keys" ? issue.keys : [];
    const field = [...issue.path.map(String), ...unknownKeys.slice(0, 1)].join(".") || where;
    const message = unknownKeys.length > 0 ? `unknown field(s): ${unknownKeys.join(", ")}` : issue.message;
    return { field, message };
  });
  const first = issues[0] ?? { field: where, message: "is invalid" };
  throw validationError(`${first.field}: ${first.message}`, { field: first.field, issues });
}
