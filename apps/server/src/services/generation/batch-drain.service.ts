import { withTransaction, type Pool } from "@batchgen/db";
import type { BatchStatus } from "@batchgen/types";
import type { Logger } from "pino";
import { cancelOrphanedItems } from "../../repositories/batch-item.repository.ts";
import { closeOutBatch, isRunnerLeaseFresh } from "../../repositories/batch-job.repository.ts";
import type { OutboxDispatcher } from "../outbox-dispatcher.service.ts";

export interface DrainState {
  readonly status: BatchStatus | "missing";
  readonly inFlightItems: number;
  /** Nothing is in flight any more (or the batch moved on); the caller can stop watching. */
  readonly drained: boolean;
  /** The batch has ended (now or earlier); `batch.finished` is in the outbox. */
  readonly finalized: boolean;
}

/**
 * The asynchronous side of pause and cancel: items in flight when the control request returned
 * keep generating, and the chunk that runs them closes the batch out when they are stored. This is
 * the check for when that chunk cannot: if the runner that owned the items of a cancelled batch
 * died (its lease went stale), the orphans are cancelled and the batch is closed out here.
 */
export class BatchDrainService {
  constructor(
    private readonly pool: Pool,
    private readonly outbox: Pick<OutboxDispatcher, "flush">,
    private readonly logger: Logger,
    private readonly leaseStaleMs: number,
  ) {}

  async checkDrain(batchId: string, expected: "paused" | "cancelled"): Promise<DrainState> {
    const { state, outboxId } = await withTransaction(this.pool, async (client) => {
      const before = await closeOutBatch(client, batchId);
      if (!before) return { state: { status: "missing" as const, inFlightItems: 0, drained: true, finalized: false }, outboxId: null };
      let closed = before;
      const batch = closed.batch;
      if (batch.status === "cancelled" && expected === "cancelled" && batch.finished_at === null && batch.generating_items > 0) {
        if (!(await isRunnerLeaseFresh(client, batchId, this.leaseStaleMs))) {
          const orphans = await cancelOrphanedItems(client, batchId);
          if (orphans > 0) this.logger.warn({ batchId, orphans }, "cancelled items left generating by a stopped runner");
          closed = (await closeOutBatch(client, batchId)) ?? closed;
        }
      }
      const now = closed.batch;
      const finalized = now.finished_at !== null;
      const drained = now.status !== expected || now.generating_items === 0 || finalized;
      return {
        state: { status: now.status, inFlightItems: now.generating_items, drained, finalized },
        outboxId: before.finishedOutboxId ?? closed.finishedOutboxId,
      };
    });
    if (outboxId) void this.outbox.flush([outboxId]);
    return state;
  }
}
