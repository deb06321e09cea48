import type { Pool } from "@batchgen/db";
import type { BatchStatus } from "@batchgen/types";
import type { Logger } from "pino";
import { cancelOrphanedItems } from "../../repositories/batch-item.repository.ts";
import { finalizeCancelledBatch, findBatchById, isRunnerLeaseFresh } from "../../repositories/batch-job.repository.ts";

export interface DrainState {
  readonly status: BatchStatus | "missing";
  readonly inFlightItems: number;
  /** Nothing is in flight any more (or the batch moved on); the caller can stop watching. */
  readonly drained: boolean;
  /** The cancelled batch has finished_at (stamped now or earlier): announce it. */
  readonly finalized: boolean;
}

/**
 * The asynchronous side of pause and cancel: items in flight when the control
 * request returned keep generating; this watches them drain. For a cancelled
 * batch it stamps `finished_at` once they have, and if the runner that owned
 * them died (its lease went stale), cancels the orphans so the batch can end.
 */
export class BatchDrainService {
  constructor(
    private readonly pool: Pool,
    private readonly logger: Logger,
    private readonly leaseStaleMs: number,
  ) {}

  async checkDrain(batchId: string, expected: "paused" | "cancelled"): Promise<DrainState> {
    const batch = await findBatchById(this.pool, batchId);
    if (!batch) return { status: "missing", inFlightItems: 0, drained: true, finalized: false };
    if (batch.status !== expected) {
      return { status: batch.status, inFlightItems: batch.generating_items, drained: true, finalized: false };
    }
    if (expected === "cancelled" && batch.finished_at) {
      // Already ended (perhaps by the chunk that drained it, or by a check whose answer was lost):
      // still report it, so batch.finished is announced; its fixed id makes a repeat harmless.
      return { status: batch.status, inFlightItems: 0, drained: true, finalized: true };
    }

    let inFlight = batch.generating_items;
    const runnerAlive = await isRunnerLeaseFresh(this.pool, batchId, this.leaseStaleMs);
    if (expected === "cancelled" && inFlight > 0 && !runnerAlive) {
      const orphans = await cancelOrphanedItems(this.pool, batchId);
      if (orphans > 0) this.logger.warn({ batchId }, "cancelled items left generating by a stopped runner");
      inFlight = 0;
    }
    if (inFlight > 0) return { status: batch.status, inFlightItems: inFlight, drained: false, finalized: false };
    if (expected === "paused") return { status: batch.status, inFlightItems: 0, drained: true, finalized: false };

    const finalized = await finalizeCancelledBatch(this.pool, batchId);
    return { status: batch.status, inFlightItems: 0, drained: finalized !== null, finalized: finalized !== null };
  }
}
