import type {
  Difficulty,
  GeneratedQuestion,
  GeneratorName,
  QuestionType,
} from "@batchgen/types";

/** What one item needs to be generated; everything comes from the batch config and the item row. */
export interface GenerationInput {
  readonly batchId: string;
  /** The item's position in the batch (0- or 1-based, as the item rows store it; only used as a seed). */
  readonly position: number;
  readonly topic: string;
  readonly questionType: QuestionType;
  readonly difficulty: Difficulty;
  /** 1 for the first try of an item, 2 for its first retry, and so on. */
  readonly attempt: number;
}

export interface GenerateOptions {
  /** Aborting rejects the call with `GenerationAbortedError` and releases its timers and sockets. */
  readonly signal?: AbortSignal;
}

/**
 * One item in, one validated question out. Implementations make exactly one attempt per call:
 * retries belong to the orchestrator (docs/decisions/generator-retries.md), so a failure is
 * reported as `TransientGenerationError` or `PermanentGenerationError` and never retried here.
 */
export interface ItemGenerator {
  readonly name: GeneratorName;
  generate(
    input: GenerationInput,
    options?: GenerateOptions,
  ): Promise<GeneratedQuestion>;
}

/** Worth another attempt: rate limits, 5xx, timeouts, dropped connections, malformed model output. */
export class TransientGenerationError extends Error {
  override readonly name = "TransientGenerationError";
  readonly retryable = true;
  /** How long the provider asked us to wait (Retry-After), in milliseconds; absent when it did not say. */
  readonly retryAfterMs: number | undefined;

  constructor(
    message: string,
    options: { retryAfterMs?: number | undefined; cause?: unknown } = {},
  ) {
    super(message, { cause: options.cause });
    this.retryAfterMs = options.retryAfterMs;
  }
}

/** Another attempt would fail the same way (bad request, bad credentials, unknown model). */
export class PermanentGenerationError extends Error {
  override readonly name = "PermanentGenerationError";
  readonly retryable = false;

  constructor(message: string, options: { cause?: unknown } = {}) {
    super(message, { cause: options.cause });
  }
}

/**
 * The caller aborted the call (cancel, shutdown). Neither a success nor a failed attempt: the
 * caller knows why it aborted, so the item must not be marked failed because of this error.
 */
export class GenerationAbortedError extends Error {
  override readonly name = "GenerationAbortedError";

  constructor(options: { cause?: unknown } = {}) {
    super("generation aborted", { cause: options.cause });
  }
}

export type GenerationErrorKind = "transient" | "permanent" | "aborted";

/**
 * How the orchestrator should treat whatever a generator threw. Anything unknown counts as
 * transient: a bug that throws would otherwise fail items on the first try, while the
 * orchestrator's retry limit still bounds a failure that repeats.
 */
export function classifyGenerationError(error: unknown): GenerationErrorKind {
  if (error instanceof PermanentGenerationError) return "permanent";
  if (error instanceof GenerationAbortedError) return "aborted";
  return "transient";
}

/** Rejects with `GenerationAbortedError` if the signal has already fired. */
export function throwIfGenerationAborted(
  signal: AbortSignal | undefined,
): void {
  if (signal?.aborted)
    throw new GenerationAbortedError({ cause: signal.reason });
}
