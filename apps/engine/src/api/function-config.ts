import { z } from "zod";
import { ExpressionError, validateExpression } from "../match/cel.ts";
import { parseDurationMs } from "../match/duration.ts";
import type { FunctionDefinition } from "../store/functions.ts";

/** Inngest's default when `retries` is unset: 4 retries, 5 attempts. */
const DEFAULT_MAX_ATTEMPTS = 5;
const SUPPORTED_KEYS = new Set(["id", "name", "triggers", "steps", "cancel", "concurrency"]);
const CANCEL_DEFAULT_TIMEOUT_MS = 365 * 86_400_000;

export class SyncRejectedError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "SyncRejectedError";
  }
}

const concurrencyEntrySchema = z.object({
  limit: z.number().int().min(0),
  key: z.string().optional(),
  scope: z.string().optional(),
});

function reject(fnId: string, key: string, why: string): never {
  throw new SyncRejectedError(`function "${fnId}": ${key} ${why}`);
}

function checkExpression(fnId: string, key: string, expression: string, roots: ("event" | "async")[]): void {
  try {
    validateExpression(expression, roots);
  } catch (error) {
    if (error instanceof ExpressionError) reject(fnId, key, `is rejected: ${error.message}`);
    throw error;
  }
}

/**
 * Validates one function config from a sync. Anything the engine would otherwise ignore
 * (throttle, debounce, cron, …) is refused with a message naming the function and the key:
 * silently ignoring it would make local behaviour lie about production.
 */
export function parseFunctionConfig(raw: unknown): FunctionDefinition {
  if (typeof raw !== "object" || raw === null) throw new SyncRejectedError("function config is not an object");
  const config = raw as Record<string, unknown>;
  const id = typeof config.id === "string" ? config.id : "";
  if (!id) throw new SyncRejectedError("function config has no id");

  for (const [key, value] of Object.entries(config)) {
    if (value === undefined || value === null) continue;
    if (!SUPPORTED_KEYS.has(key)) reject(id, `config key "${key}"`, "is not supported by the local engine");
  }

  const steps = config.steps as Record<string, { runtime?: { type?: string; url?: string }; retries?: { attempts?: number } }> | undefined;
  const step = steps?.step;
  if (!steps || !step || Object.keys(steps).length !== 1) reject(id, "steps", 'must hold exactly the SDK\'s single "step" entry');
  if (step.runtime?.type !== "http" || typeof step.runtime.url !== "string") {
    reject(id, "steps.step.runtime", `type "${step.runtime?.type}" is not supported (only http)`);
  }
  const retries = step.retries?.attempts;
  if (retries !== undefined && (!Number.isInteger(retries) || retries < 0 || retries > 20)) {
    reject(id, "retries", "must be an integer from 0 to 20");
  }

  const triggers: { event: string; expression?: string }[] = [];
  for (const trigger of (config.triggers as Record<string, unknown>[] | undefined) ?? []) {
    if ("cron" in trigger) reject(id, 'trigger "cron"', "is not supported by the local engine");
    if (typeof trigger.event !== "string") reject(id, "triggers", "has an entry without an event name");
    const expression = typeof trigger.expression === "string" && trigger.expression ? trigger.expression : undefined;
    if (expression) checkExpression(id, `trigger expression for "${trigger.event}"`, expression, ["event"]);
    triggers.push({ event: trigger.event, ...(expression ? { expression } : {}) });
  }

  const cancel: { event: string; if?: string; timeoutMs?: number }[] = [];
  for (const entry of (config.cancel as Record<string, unknown>[] | undefined) ?? []) {
    if (typeof entry.event !== "string") reject(id, "cancelOn", "has an entry without an event name");
    const condition = typeof entry.if === "string" && entry.if ? entry.if : undefined;
    if (condition) checkExpression(id, `cancelOn "${entry.event}" if`, condition, ["event", "async"]);
    let timeoutMs = CANCEL_DEFAULT_TIMEOUT_MS;
    if (typeof entry.timeout === "string") {
      const parsed = parseDurationMs(entry.timeout);
      if (parsed === undefined) reject(id, `cancelOn "${entry.event}" timeout`, `"${entry.timeout}" is not a duration`);
      timeoutMs = parsed;
    }
    cancel.push({ event: entry.event, ...(condition ? { if: condition } : {}), timeoutMs });
  }

  const concurrency: { limit: number; key?: string }[] = [];
  const rawConcurrency = config.concurrency;
  if (rawConcurrency !== undefined && rawConcurrency !== null) {
    const entries =
      typeof rawConcurrency === "number" ? [{ limit: rawConcurrency }] : Array.isArray(rawConcurrency) ? rawConcurrency : [rawConcurrency];
    if (entries.length > 2) reject(id, "concurrency", "allows at most two entries");
    for (const entry of entries) {
      const parsed = concurrencyEntrySchema.safeParse(entry);
      if (!parsed.success) reject(id, "concurrency", `is malformed: ${parsed.error.message}`);
      if (parsed.data.scope && parsed.data.scope !== "fn") {
        reject(id, `concurrency scope "${parsed.data.scope}"`, "is not supported by the local engine (only fn)");
      }
      if (parsed.data.key) checkExpression(id, "concurrency key", parsed.data.key, ["event"]);
      if (parsed.data.limit > 0) concurrency.push({ limit: parsed.data.limit, ...(parsed.data.key ? { key: parsed.data.key } : {}) });
    }
  }

  return {
    id,
    name: typeof config.name === "string" ? config.name : id,
    url: step.runtime.url,
    maxAttempts: retries === undefined ? DEFAULT_MAX_ATTEMPTS : retries + 1,
    triggers,
    cancel,
    concurrency,
  };
}
