import { randomUUID } from "node:crypto";
import { withTransaction, type Pool } from "@batchgen/db";
import type { BatchStatus } from "@batchgen/types";
import type { Logger } from "pino";
import { classifyGenerationError, type ItemGenerator } from "../../generators/generator.ts";
import {
  acquireRunnerLease,
  endChunk,
  heartbeatRunnerLease,
  releaseRunnerLease,
  type BatchJobRow,
} from "../../repositories/batch-job.repository.ts";
import {
  recordItemAttempt,
  releaseItem,
  runnerTick,
  storedQuestion,
  type ClaimedItem,
  type FinishedItem,
  type RunnerTick,
} from "../../repositories/batch-item.repository.ts";
import type { OutboxDispatcher } from "../outbox-dispatcher.service.ts";

export interface BatchRunnerOptions {
  /** Stop claiming after this long and return, so one step stays short (the rest continues in the next step). */
  readonly chunkBudgetMs: number;
  /** Attempts per item before it is marked failed, counted in total across claims and lease takeovers. */
  readonly maxAttemptsPerItem: number;
  /** Backoff before retry n is `retryBaseMs * 2^(n-1)`, unless the provider said how long (Retry-After). */
  readonly retryBaseMs: number;
  readonly heartbeatMs: number;
  /** A lease without a heartbeat for this long belongs to a dead runner. */
  readonly leaseStaleMs: number;
  /**
   * While a chunk lets its items in flight finish (paused, or past its budget), how often it looks
   * whether the batch was resumed meanwhile: then it claims again at once, instead of leaving the
   * resume to wait for the slowest of them.
   */
  readonly resumeRecheckMs: number;
  /** A turn of the window (one runner_tick call) not answered within this long counts as refused. */
  readonly tickTimeoutMs: number;
}

export const DEFAULT_RUNNER_OPTIONS: BatchRunnerOptions = {
  chunkBudgetMs: 30_000,
  maxAttemptsPerItem: 3,
  retryBaseMs: 1_000,
  heartbeatMs: 5_000,
  leaseStaleMs: 30_000,
  resumeRecheckMs: 200,
  tickTimeoutMs: 10_000,
};

/** What one chunk did, and the state the orchestrator must act on next. */
export interface ChunkOutcome {
  /**
   * `superseded`: a newer orchestrator chain owns the batch; this run must end. `shutting-down`:
   * this API process is draining and started nothing; the step should be retried elsewhere/later.
   */
  readonly status: BatchStatus | "missing" | "superseded" | "shutting-down";
  readonly generated: number;
  readonly failed: number;
  readonly requeued: number;
  /** True when this chunk ended the batch. */
  readonly finalized: boolean;
}

const MAX_RETRY_DELAY_MS = 60_000;
/** Longest pause between two tries to store finished items while the database refuses them. */
const MAX_STORE_RETRY_DELAY_MS = 2_000;

export class LeaseBusyError extends Error {
  constructor(batchId: string) {
    super(`Another runner is still generating batch ${batchId}`);
    this.name = "LeaseBusyError";
  }
}

/** Resolves after `ms`, or at once when `signal` fires. */
function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) {
      resolve();
      return;
    }
    const onAbort = () => {
      clearTimeout(timer);
      resolve();
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}

interface ChunkState {
  leaseLost: boolean;
  /** The chunk gave up storing (the database refused it for the lease's stale window): no more retries. */
  gaveUp: boolean;
}

/**
 * Generates a batch's items with a sliding window: whenever a slot frees up,
 * the next pending item (lowest position) is claimed — in a transaction that
 * requires the batch to be `running` — so a slow item never idles the other
 * slots. A chunk stops claiming when the batch is cancelled, when nothing is
 * pending, or when its time budget is spent; when it is paused it stops
 * claiming but, while its items in flight finish, keeps looking whether a
 * resume came in. It always lets the items it started finish and stores their
 * results before it returns.
 */
export class BatchRunnerService {
  /** Fires on shutdown: chunks stop claiming and retry back-offs end at once. */
  private readonly stopping = new AbortController();

  constructor(
    private readonly pool: Pool,
    private readonly resolveGenerator: (batch: BatchJobRow) => ItemGenerator,
    private readonly outbox: Pick<OutboxDispatcher, "flush">,
    private readonly logger: Logger,
    private readonly options: BatchRunnerOptions = DEFAULT_RUNNER_OPTIONS,
  ) {}

  /**
   * Shutdown: chunks stop claiming, items waiting for a retry go back to pending, and each chunk
   * returns as soon as its generations in flight are stored, so the engine gets a normal answer
   * instead of a dropped connection; the next chunk runs elsewhere.
   */
  drain(): void {
    this.stopping.abort();
  }

  /**
   * One step of the orchestrator chain `epoch`. A chain that is no longer the batch's (a newer
   * epoch was started) gets `superseded` before anything else is touched.
   */
  async runChunk(batchId: string, epoch: number): Promise<ChunkOutcome> {
    if (this.stopping.signal.aborted) return { status: "shutting-down", generated: 0, failed: 0, requeued: 0, finalized: false };
    const runnerId = randomUUID();
    const lease = await withTransaction(this.pool, (client) =>
      acquireRunnerLease(client, batchId, runnerId, this.options.leaseStaleMs, epoch),
    );
    if (!lease.acquired) {
      const idle = { generated: 0, failed: 0, requeued: 0, finalized: false };
      if (lease.superseded) return { status: "superseded", ...idle };
      // Missing, cancelled or finished: nothing to generate (a retried or continued step arriving late).
      if (lease.heldBy === null) return { status: lease.batch?.status ?? "missing", ...idle };
      // A live runner holds it: fail this step, so the engine retries it after its backoff.
      throw new LeaseBusyError(batchId);
    }
    const batch = lease.batch;
    if (lease.requeued > 0) {
      this.logger.warn({ batchId, requeued: lease.requeued }, "requeued items left generating by a stopped runner");
    }

    const state: ChunkState = { leaseLost: false, gaveUp: false };
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

    let ended = false;
    try {
      const generator = this.resolveGenerator(batch);
      const counts = await this.generateWindow(batch, runnerId, generator, state);
      // Under the row lock: end the batch if nothing is left (announcing it through the outbox),
      // release the lease, and read the status the chain acts on next.
      const end = await withTransaction(this.pool, (client) => endChunk(client, batchId, runnerId));
      ended = true;
      if (end?.finishedOutboxId) void this.outbox.flush([end.finishedOutboxId]);
      return {
        status: end?.batch.status ?? "missing",
        generated: counts.generated,
        failed: counts.failed,
        requeued: lease.requeued,
        finalized: end?.finishedOutboxId != null,
      };
    } finally {
      clearInterval(heartbeat);
      if (!ended) {
        await releaseRunnerLease(this.pool, batchId, runnerId).catch((error: unknown) =>
          this.logger.warn({ err: error, batchId }, "could not release the runner lease; it will expire"),
        );
      }
    }
  }

  private async generateWindow(
    batch: BatchJobRow,
    runnerId: string,
    generator: ItemGenerator,
    state: ChunkState,
  ): Promise<{ generated: number; failed: number }> {
    const deadline = Date.now() + this.options.chunkBudgetMs;
    const slots = Math.max(1, batch.config.concurrency);
    const active = new Map<string, Promise<void>>();
    // Generations that ended and wait for the next tick to store them (with the next claim).
    const finished: FinishedItem[] = [];
    const counts = { generated: 0, failed: 0 };
    // open: claims as slots free up. Closed (budget spent, or nothing to claim): claims only to
    // answer a resume while its items in flight finish, so a resume never waits for the slowest
    // of them. done: nothing more will be claimed at all (cancelled, lease lost, shutting down).
    let open = true;
    let done = false;
    let failure: Error | undefined;
    // The database refused a tick (or did not answer it in time): what it carried goes back to
    // `finished` and the tick is retried after a growing pause. Past the lease's stale window,
    // counted from the start of the first failed tick, the chunk gives up: what piled up is left
    // to the requeue, a result that arrives later gets one try, and the step fails.
    let storeFailingSince: number | undefined;
    let storeFailures = 0;

    try {
      while (open || active.size > 0 || finished.length > 0) {
        if (this.stopping.signal.aborted || state.leaseLost || failure) done = true;
        if (done || Date.now() >= deadline) open = false;
        const claiming = !done && active.size < slots && (open || active.size > 0);
        let watch = false;
        if (claiming || finished.length > 0) {
          const storing = finished.splice(0);
          const tickStartedAt = Date.now();
          let tick: RunnerTick;
          try {
            tick = await this.tickInTime(
              runnerTick(this.pool, batch.id, runnerId, storing, claiming ? slots - active.size : 0, { onlyAfterResume: !open }),
            );
          } catch (error) {
            const cause = error instanceof Error ? error : new Error("storing generated items failed", { cause: error });
            storeFailingSince ??= tickStartedAt;
            // Given up already: this was a later result's one try.
            if (state.gaveUp) continue;
            finished.unshift(...storing);
            if (state.leaseLost || Date.now() - storeFailingSince >= this.options.leaseStaleMs) {
              failure ??= cause;
              state.gaveUp = true;
              finished.length = 0;
              this.logger.error({ err: cause, batchId: batch.id }, "gave up storing finished items; the next chunk requeues them");
              continue;
            }
            storeFailures += 1;
            this.logger.warn({ err: cause, batchId: batch.id, waiting: finished.length }, "could not store finished items; retrying");
            await sleep(Math.min(MAX_STORE_RETRY_DELAY_MS, 100 * 2 ** (storeFailures - 1)));
            continue;
          }
          storeFailingSince = undefined;
          storeFailures = 0;
          this.count(batch, storing, tick.stored, counts);
          for (const item of tick.items) {
            // Never two generations of one item in this window (a claim cannot hand out an item in
            // flight, but the map must not be the only thing that says so).
            if (active.has(item.id)) continue;
            const work = this.generateItem(batch, item, runnerId, generator, state)
              .then((outcome) => {
                if (outcome) finished.push(outcome);
              })
              .catch((error: unknown) => {
                // Not expected (generateItem catches the generator's and the database's errors):
                // stop claiming, store what the others finish, fail the step.
                failure ??= error instanceof Error ? error : new Error("generating an item failed", { cause: error });
              })
              .finally(() => active.delete(item.id));
            active.set(item.id, work);
          }
          if (claiming) {
            const claimable = tick.leaseHeld && (tick.status === "running" || tick.status === "paused");
            if (!claimable) done = true;
            else if (tick.items.length === 0) {
              // Paused, or nothing pending (or, closed, no resume to answer): look again while items
              // finish; with none in flight there is nothing to wait for, and the chunk ends.
              if (tick.status === "running" || active.size === 0) open = false;
              watch = true;
            } else if (open && active.size < slots) continue;
          }
        }
        // Something finished while the tick was under way: store it (and claim its slot) at once.
        if (active.size === 0 || finished.length > 0) continue;
        if (watch) await Promise.race([...active.values(), sleep(this.options.resumeRecheckMs)]);
        else await Promise.race(active.values());
      }
    } finally {
      // Never leave generations running detached from the step that started them.
      await Promise.allSettled(active.values());
    }
    if (failure) throw failure;
    return counts;
  }

  /**
   * A tick the database does not answer in time (a connection left half-open by a failover, a
   * lock that is never released) counts as refused, so the chunk retries or gives up instead of
   * waiting for the operating system to notice. The late answer, if any, is ignored: what it
   * stored is guarded by the item's claim, and what it claimed is requeued with the next lease.
   */
  private tickInTime(tick: Promise<RunnerTick>): Promise<RunnerTick> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_resolve, reject) => {
      timer = setTimeout(
        () => reject(new Error(`the database did not answer a turn of the window within ${this.options.tickTimeoutMs} ms`)),
        this.options.tickTimeoutMs,
      );
    });
    tick.catch(() => undefined);
    return Promise.race([tick, timeout]).finally(() => clearTimeout(timer));
  }

  /** Counts what a tick stored, and logs the failed items among them. */
  private count(
    batch: BatchJobRow,
    storing: readonly FinishedItem[],
    stored: ReadonlySet<string>,
    counts: { generated: number; failed: number },
  ): void {
    for (const item of storing) {
      if (!stored.has(item.id)) continue;
      if (item.status === "completed") counts.generated += 1;
      else {
        counts.failed += 1;
        this.logger.warn({ batchId: batch.id, itemId: item.id, error: item.error }, "item failed");
      }
    }
  }

  /**
   * Generates one claimed item, retrying transient failures with backoff, and returns what to store
   * (null: nothing, the item is no longer this runner's or went back to pending). The attempt limit
   * is the item's total: `attempts` counts every try across claims, so an item that kills or stalls
   * its worker (and is requeued by a lease takeover each time) still fails after the limit.
   */
  private async generateItem(
    batch: BatchJobRow,
    item: ClaimedItem,
    runnerId: string,
    generator: ItemGenerator,
    state: ChunkState,
  ): Promise<FinishedItem | null> {
    const max = this.options.maxAttemptsPerItem;
    let attempt = item.attempts;
    if (attempt > max) {
      return { id: item.id, status: "failed", error: `gave up after ${max} attempts: the worker stopped while generating this item` };
    }
    for (;;) {
      try {
        const question = await generator.generate({
          batchId: batch.id,
          position: item.position,
          topic: batch.config.topic,
          questionType: batch.config.questionType,
          difficulty: batch.config.difficulty,
          // The item's attempt number over its whole life: a retried item is not its first try again.
          attempt: attempt + item.earlierAttempts,
        });
        // Only the known fields, built here: a generator's malformed answer fails this attempt
        // rather than the turn that would carry it with the others.
        return { id: item.id, status: "completed", result: storedQuestion(question) };
      } catch (error) {
        const kind = classifyGenerationError(error);
        const message = error instanceof Error ? error.message : String(error);
        if (kind === "permanent" || attempt >= max) {
          return { id: item.id, status: "failed", error: kind === "permanent" ? message : `${message} (gave up after ${attempt} attempts)` };
        }
        // A provider's Retry-After is honoured, but capped: a bad header must not hold a slot for hours.
        const retryAfterMs = (error as { retryAfterMs?: number }).retryAfterMs;
        const delay = Math.min(MAX_RETRY_DELAY_MS, retryAfterMs ?? this.options.retryBaseMs * 2 ** (attempt - 1));
        // No longer ours (the lease was taken over): the new runner owns the item now.
        if (state.leaseLost || state.gaveUp) return null;
        try {
          if (!(await recordItemAttempt(this.pool, item.id, runnerId, message))) return null;
        } catch (dbError) {
          // The database refused the attempt's record: the item stays `generating` under this
          // runner's claim and is requeued with the next lease (its attempts so far still count).
          this.logger.warn({ err: dbError, batchId: batch.id, position: item.position }, "could not record a failed attempt; the item will be requeued");
          return null;
        }
        attempt += 1;
        await sleep(delay, this.stopping.signal);
        if (this.stopping.signal.aborted) {
          // Shutting down: the retry has not started, so the item goes back to pending unspent.
          await releaseItem(this.pool, batch.id, item.id, runnerId).catch((dbError: unknown) =>
            this.logger.warn({ err: dbError, batchId: batch.id, position: item.position }, "could not hand an item back; the item will be requeued"),
          );
          return null;
        }
      }
    }
  }
}
