import type { GeneratedQuestion } from "@batchgen/types";
import {
  GenerationAbortedError,
  PermanentGenerationError,
  TransientGenerationError,
  throwIfGenerationAborted,
  type GenerateOptions,
  type GenerationInput,
  type ItemGenerator,
} from "./generator.ts";
import { createSeededPrng } from "./prng.ts";
import { composeSimulatedQuestion } from "./simulated-question.ts";

/** What a test forces for one attempt; anything left out is drawn as usual. */
export interface SimulatedBehaviour {
  readonly latencyMs?: number;
  readonly fail?: "transient" | "permanent";
  /** Attached to a forced transient failure, like a provider's Retry-After. */
  readonly retryAfterMs?: number;
}

export interface SimulatedGeneratorOptions {
  /** Median latency of one attempt (env SIMULATED_LATENCY_MS). 0 means no timer at all. */
  readonly latencyMedianMs?: number;
  /**
   * Spread of the log-normal latency: the standard deviation of ln(latency) (env
   * SIMULATED_LATENCY_JITTER). 0 makes every attempt take exactly the median; 0.5 puts about
   * 90% of attempts between 0.44× and 2.3× the median.
   */
  readonly latencyJitter?: number;
  /** Cap on the long tail of the distribution; default 10× the median. */
  readonly maxLatencyMs?: number;
  /** Probability that an attempt fails with a transient error (env SIMULATED_FAILURE_RATE). */
  readonly transientFailureRate?: number;
  /** Probability that an attempt fails permanently (env SIMULATED_PERMANENT_FAILURE_RATE). */
  readonly permanentFailureRate?: number;
  /** Test hook: force the latency or outcome of particular attempts. */
  readonly behaviour?: (
    input: GenerationInput,
  ) => SimulatedBehaviour | undefined;
}

/** What the server uses when an env variable is unset: slow and flaky enough to look real. */
export const DEFAULT_SIMULATED_GENERATOR_OPTIONS = {
  latencyMedianMs: 800,
  latencyJitter: 0.4,
  transientFailureRate: 0.02,
  permanentFailureRate: 0,
} as const;

/** The drawn (or forced) latency and outcome of one attempt. */
export interface SimulatedAttemptPlan {
  readonly latencyMs: number;
  readonly fail: "transient" | "permanent" | undefined;
  readonly retryAfterMs: number | undefined;
}

function assertRate(name: string, value: number): void {
  if (!(value >= 0 && value <= 1))
    throw new RangeError(`${name} must be between 0 and 1, got ${value}`);
}

function assertNonNegative(name: string, value: number): void {
  if (!(value >= 0 && Number.isFinite(value)))
    throw new RangeError(`${name} must be a finite number ≥ 0, got ${value}`);
}

function sleepUnlessAborted(
  ms: number,
  signal: AbortSignal | undefined,
): Promise<void> {
  return new Promise((resolve, reject) => {
    const onAbort = (): void => {
      clearTimeout(timer);
      reject(new GenerationAbortedError({ cause: signal?.reason }));
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}

/**
 * The default generator: no network, reproducible, realistic enough to exercise the pipeline.
 * The question depends only on (batchId, position) and the batch config, so a retried item
 * yields the same question; latency and failure also depend on the attempt, so a transient
 * failure does not repeat forever.
 */
export class SimulatedGenerator implements ItemGenerator {
  readonly name = "simulated" as const;
  private readonly latencyMedianMs: number;
  private readonly latencyJitter: number;
  private readonly maxLatencyMs: number;
  private readonly transientFailureRate: number;
  private readonly permanentFailureRate: number;
  private readonly behaviour: SimulatedGeneratorOptions["behaviour"];

  constructor(options: SimulatedGeneratorOptions = {}) {
    this.latencyMedianMs =
      options.latencyMedianMs ??
      DEFAULT_SIMULATED_GENERATOR_OPTIONS.latencyMedianMs;
    this.latencyJitter =
      options.latencyJitter ??
      DEFAULT_SIMULATED_GENERATOR_OPTIONS.latencyJitter;
    this.maxLatencyMs = options.maxLatencyMs ?? this.latencyMedianMs * 10;
    this.transientFailureRate =
      options.transientFailureRate ??
      DEFAULT_SIMULATED_GENERATOR_OPTIONS.transientFailureRate;
    this.permanentFailureRate =
      options.permanentFailureRate ??
      DEFAULT_SIMULATED_GENERATOR_OPTIONS.permanentFailureRate;
    this.behaviour = options.behaviour;
    assertNonNegative("latencyMedianMs", this.latencyMedianMs);
    assertNonNegative("latencyJitter", this.latencyJitter);
    assertNonNegative("maxLatencyMs", this.maxLatencyMs);
    assertRate("transientFailureRate", this.transientFailureRate);
    assertRate("permanentFailureRate", this.permanentFailureRate);
    assertRate(
      "transientFailureRate + permanentFailureRate",
      this.transientFailureRate + this.permanentFailureRate,
    );
  }

  /** The latency and outcome of one attempt, without waiting; exposed so tests can check the distribution. */
  planAttempt(input: GenerationInput): SimulatedAttemptPlan {
    const rng = createSeededPrng(
      `${input.batchId}\u0000${input.position}\u0000${input.attempt}\u0000attempt`,
    );
    const latencyMs =
      this.latencyMedianMs === 0
        ? 0
        : Math.min(
            this.maxLatencyMs,
            Math.round(
              this.latencyMedianMs *
                Math.exp(this.latencyJitter * rng.normal()),
            ),
          );
    const roll = rng.next();
    const drawn: SimulatedAttemptPlan = {
      latencyMs,
      fail:
        roll < this.permanentFailureRate
          ? "permanent"
          : roll < this.permanentFailureRate + this.transientFailureRate
            ? "transient"
            : undefined,
      retryAfterMs: undefined,
    };
    const forced = this.behaviour?.(input);
    if (!forced) return drawn;
    return {
      latencyMs: forced.latencyMs ?? drawn.latencyMs,
      fail: forced.fail ?? drawn.fail,
      retryAfterMs: forced.retryAfterMs,
    };
  }

  async generate(
    input: GenerationInput,
    options: GenerateOptions = {},
  ): Promise<GeneratedQuestion> {
    throwIfGenerationAborted(options.signal);
    const plan = this.planAttempt(input);
    // Zero latency must not even yield to a timer: the 10,000-item benchmark runs this way.
    if (plan.latencyMs > 0)
      await sleepUnlessAborted(plan.latencyMs, options.signal);

    const where = `batch ${input.batchId} position ${input.position} attempt ${input.attempt}`;
    if (plan.fail === "permanent") {
      throw new PermanentGenerationError(
        `simulated permanent failure (${where})`,
      );
    }
    if (plan.fail === "transient") {
      throw new TransientGenerationError(
        `simulated transient failure (${where})`,
        { retryAfterMs: plan.retryAfterMs },
      );
    }
    const rng = createSeededPrng(
      `${input.batchId}\u0000${input.position}\u0000content`,
    );
    return composeSimulatedQuestion(rng, input);
  }
}
