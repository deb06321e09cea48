import { randomUUID } from "node:crypto";
import { withTransaction, type Pool } from "@batchgen/db";
import type { BatchStatus } from "@batchgen/types";
import type { Logger } from "pino";
import { classifyGenerationError, type ItemGenerator } from "../../generation/generator.ts";
import {
  acquireRunnerLease,
  finalizeCancelledBatch,
  finalizeRunningBatch,
  findBatchById,
  heartbeatRunnerLease,
  releaseRunnerLease,
  type BatchJobRow,
} from "../../repositories/batch-job.repository.ts";
import {
  claimPendingItems,
  completeItem,
  failItem,
  recordItemAttempt,
  type ClaimedItem,
} from "../../repositories/batch-item.repository.ts";

export interface BatchRunnerOptions {
  /** Stop claiming after this long and return, so one step stays short (the rest continues in the next step). */
  readonly chunkBudgetMs: number;
  /** Attempts per item before it is marked failed. */
  readonly maxAttemptsPerItem: number;
  /** Backoff before retry n is `retryBaseMs * 2^(n-1)`, unless the provider said how long (Retry-After). */
  readonly retryBaseMs: number;
  readonly heartbeatMs: number;
  /** A lease without a heartbeat for this long belongs to a dead runner. */
  readonly leaseStaleMs: number;
}

export const DEFAULT_RUNNER_OPTIONS: BatchRunnerOptions = {
  chunkBudgetMs: 30_000,
  maxAttemptsPerItem: 3,
  retryBaseMs: 1_000,
  heartbeatMs: 5_000,
  leaseStaleMs: 30_000,
};

/** What one chunk did, and the state the orchestrator must act on next. */
export interface ChunkOutcome {
  readonly status: BatchStatus | "missing";
  readonly generated: number;
  readonly failed: number;
  readonly requeued: number;
  /** True when the chunk ended the batch (completed, completed_with_errors or failed). */
  readonly finalized: boolean;
}

const MAX_RETRY_DELAY_MS = 60_000;

export class LeaseBusyError extends Error {
  constructor(batchId: string) {
    super(`Another runner is still generating batch ${batchId}`);
    this.name = "LeaseBusyError";
  }
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, ms);
    signal?.addEventListener("abort", () => {
      clearTimeout(timer);
      resolve();
    });
  });
}

/**
 * Generates a batch's items with a sliding window: whenever a slot frees up,
 * the next pending item (lowest position) is claimed — in a transaction that
 * requires the batch to be `running` — so a slow item never idles the other
 * slots. A chunk stops claiming when the batch is paused or cancelled, when
 * nothing is pending, or when its time budget is spent; it always lets the
 * items it started finish and stores their results before it returns.
 */
export class BatchRunnerService {
  private draining = false;

  constructor(
    private readonly pool: Pool,
    private readonly resolveGenerator: (batch: BatchJobRow) => ItemGenerator,
    private readonly logger: Logger,
    private readonly options: BatchRunnerOptions = DEFAULT_RUNNER_OPTIONS,
  ) {}

  /**
   * Shutdown: chunks stop claiming and return as soon as their items in flight are stored, so the
   * engine gets a normal answer instead of a dropped connection; the next chunk runs elsewhere.
   */
  drain(): void {
    this.draining = true;
  }

  async runChunk(batchId: string): Promise<ChunkOutcome> {
    const runnerId = randomUUID();
    const lease = await withTransaction(this.pool, (client) =>
      acquireRunnerLease(client, batchId, runnerId, this.options.leaseStaleMs),
    );
    if (!lease.acquired) {
      // Missing, cancelled or finished: nothing to generate (a retried or continued step arriving late).
      if (lease.heldBy === null) {
        return { status: lease.batch?.status ?? "missing", generated: 0, failed: 0, requeued: 0, finalized: false };
      }
      // A live runner holds it: fail this step, so the engine retries it after its backoff.
      throw new LeaseBusyError(batchId);
    }
    const batch = lease.batch;
    if (lease.requeued > 0) {
      this.logger.warn({ batchId, requeued: lease.requeued }, "requeued items left generating by a stopped runner");
    }

    const state = { leaseLost: false };
    const heartbeat = setInterval(() => {
      heartbeatRunnerLease(this.pool, batchId, runnerId)
        .then((held) => {
          // Another runner took over (we looked dead): stop claiming and retrying at once.
          if (!held && !state.leaseLost) {
            state.leaseLost = true;
            this.logger.warn({ batchId }, "runner lease taken over; stopping this chunk");
          }
        })
        .catch((error: unknown) => this.logger.warn({ err: error, batchId }, "runner heartbeat failed"));
    }, this.options.heartbeatMs);
    heartbeat.unref();

    try {
      const generator = this.resolveGenerator(batch);
      const counts = await this.generateWindow(batch, runnerId, generator, state);
      // Ends the batch if nothing is left: completed after the last item, or — for a cancel whose
      // items this chunk just drained — stamps finished_at (batch-control watches for it too).
      const finalized = (await finalizeRunningBatch(this.pool, batchId)) ?? (await finalizeCancelledBatch(this.pool, batchId));
      const current = finalized ?? (await findBatchById(this.pool, batchId));
      return {
        status: current?.status ?? "missing",
        generated: counts.generated,
        failed: counts.failed,
        requeued: lease.requeued,
        finalized: finalized !== null && finalized.status !== "cancelled",
      };
    } finally {
      clearInterval(heartbeat);
      await releaseRunnerLease(this.pool, batchId, runnerId).catch((error: unknown) =>
        this.logger.warn({ err: error, batchId }, "could not release the runner lease; it will expire"),
      );
    }
  }

  private async generateWindow(
    batch: BatchJobRow,
    runnerId: string,
    generator: ItemGenerator,
    state: { leaseLost: boolean },
  ): Promise<{ generated: number; failed: number }> {
    const deadline = Date.now() + this.options.chunkBudgetMs;
    const slots = Math.max(1, batch.config.concurrency);
    const active = new Map<string, Promise<void>>();
    const counts = { generated: 0, failed: 0 };
    let claiming = true;
    let failure: Error | undefined;

    try {
      while (claiming || active.size > 0) {
        if (claiming && active.size < slots) {
          if (Date.now() >= deadline || this.draining || state.leaseLost) {
            claiming = false;
          } else {
            const claim = await withTransaction(this.pool, (client) =>
              claimPendingItems(client, batch.id, runnerId, slots - active.size),
            );
            // None claimed: paused, cancelled, lease lost, or nothing pending. Start nothing more.
            if (claim.items.length === 0) claiming = false;
            for (const item of claim.items) {
              const work = this.generateItem(batch, item, runnerId, generator, counts, state)
                .catch((error: unknown) => {
                  // A database error while storing: stop claiming, let the rest finish, fail the step.
                  failure ??= error instanceof Error ? error : new Error("storing a generated item failed", { cause: error });
                  claiming = false;
                })
                .finally(() => active.delete(item.id));
              active.set(item.id, work);
            }
            if (claim.items.length > 0 && active.size < slots) continue;
          }
        }
        if (active.size > 0) await Promise.race(active.values());
      }
    } finally {
      // Never leave generations running detached from the step that started them.
      await Promise.allSettled(active.values());
    }
    if (failure) throw failure;
    return counts;
  }

  private async generateItem(
    batch: BatchJobRow,
    item: ClaimedItem,
    runnerId: string,
    generator: ItemGenerator,
    counts: { generated: number; failed: number },
    state: { leaseLost: boolean },
  ): Promise<void> {
    let attempt = item.attempts;
    for (let tries = 1; ; tries += 1) {
      try {
        const question = await generator.generate({
          batchId: batch.id,
          position: item.position,
          topic: batch.config.topic,
          questionType: batch.config.questionType,
          difficulty: batch.config.difficulty,
          attempt,
        });
        if (await completeItem(this.pool, batch.id, item.id, runnerId, question)) counts.generated += 1;
        return;
      } catch (error) {
        const kind = classifyGenerationError(error);
        const message = error instanceof Error ? error.message : String(error);
        if (kind === "permanent" || tries >= this.options.maxAttemptsPerItem) {
          const reason = kind === "permanent" ? message : `${message} (gave up after ${tries} attempts)`;
          if (await failItem(this.pool, batch.id, item.id, runnerId, reason)) counts.failed += 1;
          this.logger.warn({ batchId: batch.id, position: item.position, error: reason }, "item failed");
          return;
        }
        // A provider's Retry-After is honoured, but capped: a bad header must not hold a slot for hours.
        const retryAfterMs = (error as { retryAfterMs?: number }).retryAfterMs;
        const delay = Math.min(MAX_RETRY_DELAY_MS, retryAfterMs ?? this.options.retryBaseMs * 2 ** (tries - 1));
        // No longer ours (the lease was taken over): the new runner owns the item now.
        if (state.leaseLost || !(await recordItemAttempt(this.pool, item.id, runnerId, message))) return;
        attempt += 1;
        await sleep(delay);
      }
    }
  }
}
