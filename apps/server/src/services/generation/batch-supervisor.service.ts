import { withTransaction, type Pool, type PoolClient } from "@batchgen/db";
import type { Logger } from "pino";
import { cancelOrphanedItems, requeueItemsOfDeadRunner } from "../../repositories/batch-item.repository.ts";
import { closeOutBatch, lockBatchById, startOrchestratorChain, type BatchJobRow } from "../../repositories/batch-job.repository.ts";
import type { OutboxDispatcher } from "../outbox-dispatcher.service.ts";

/** Takes the batch row lock, then checks `condition` ($1, $2 = `values`) on the locked row. */
async function lockedAndStill(client: PoolClient, id: string, condition: string, values: [number, number]): Promise<BatchJobRow | null> {
  const batch = await lockBatchById(client, id);
  if (!batch) return null;
  const { rows } = await client.query(`SELECT 1 FROM batch_jobs WHERE id = $3 AND ${condition}`, [...values, id]);
  return rows.length > 0 ? batch : null;
}

export interface SupervisorOptions {
  /** How often the resume watchdog looks. */
  readonly tickMs: number;
  /** A resumed batch whose chain has not taken the lease this long after the resume gets a new chain. */
  readonly resumeWatchdogMs: number;
  /** How often the sweeper looks for stalled batches. */
  readonly sweepIntervalMs: number;
  /** A running batch with no runner and no visible change (and no restart) for this long has lost its chain. */
  readonly stallMs: number;
  /** A lease without a heartbeat for this long belongs to a dead runner. */
  readonly leaseStaleMs: number;
}

export const DEFAULT_SUPERVISOR_OPTIONS: SupervisorOptions = {
  tickMs: 1_000,
  resumeWatchdogMs: 2_000,
  sweepIntervalMs: 60_000,
  stallMs: 300_000,
  leaseStaleMs: 30_000,
};

type Repair = "restart" | "close-cancelled" | "requeue-paused" | "close-paused";

/** A resume nobody took up ($1 = watchdog ms, $2 = lease-stale ms): running, no item started since, no live runner. */
const UNTAKEN_RESUME = `
  status = 'running' AND resumed_at < clock_timestamp() - $1 * interval '1 millisecond'
  AND (runner_id IS NULL OR runner_heartbeat_at < clock_timestamp() - $2 * interval '1 millisecond')`;

/**
 * What the sweeper repairs ($1 = stall ms, $2 = lease-stale ms), always with no live runner: a
 * running batch with no visible change and no restart for the stall time; a cancelled batch that
 * never got finished_at; a paused batch with items left generating by a dead runner, or with
 * nothing left to do at all.
 */
const STALLED = `
  (runner_id IS NULL OR runner_heartbeat_at < clock_timestamp() - $2 * interval '1 millisecond')
  AND (
    (status = 'running' AND updated_at < clock_timestamp() - $1 * interval '1 millisecond'
      AND (orchestrator_started_at IS NULL OR orchestrator_started_at < clock_timestamp() - $1 * interval '1 millisecond'))
    OR (status = 'cancelled' AND finished_at IS NULL AND coalesce(cancelled_at, updated_at) < clock_timestamp() - $2 * interval '1 millisecond')
    OR (status = 'paused' AND generating_items > 0 AND coalesce(paused_at, updated_at) < clock_timestamp() - $2 * interval '1 millisecond')
    OR (status = 'paused' AND generating_items = 0 AND completed_items + failed_items + cancelled_items = total_items)
  )`;

/**
 * Keeps every active batch owned by exactly one live orchestrator chain, from the side that
 * knows when one is missing (docs/decisions/one-orchestrator-per-batch.md):
 *
 * - the **resume watchdog** covers the lost wakeup: a resume whose event reached no parked run
 *   (it was sent before the run's wait existed, or the run died) leaves `resumed_at` set with no
 *   runner; after `resumeWatchdogMs` a new chain is started (a new epoch, which ends the old one);
 * - the **sweeper** restarts a running batch that has had no runner and no visible change for
 *   `stallMs` (its chain failed for good), closes out a cancelled batch whose runner and watcher
 *   are gone, and hands the items a dead runner left `generating` in a paused batch back to pending.
 *
 * Every repair re-checks its condition under the batch row lock, so several API processes can run
 * this at once, and writes its events to the outbox in the same transaction.
 */
export class BatchSupervisor {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private stopped = true;
  private lastSweep = 0;

  constructor(
    private readonly pool: Pool,
    private readonly outbox: Pick<OutboxDispatcher, "flush">,
    private readonly logger: Logger,
    private readonly options: SupervisorOptions = DEFAULT_SUPERVISOR_OPTIONS,
  ) {}

  start(): void {
    this.stopped = false;
    const tick = () => {
      if (this.stopped) return;
      this.running = this.tick()
        .then(() => undefined)
        .catch((error: unknown) => this.logger.warn({ err: error }, "batch supervisor check failed; will retry"))
        .finally(() => {
          if (!this.stopped) this.timer = setTimeout(tick, this.options.tickMs);
        });
    };
    this.timer = setTimeout(tick, this.options.tickMs);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.running;
  }

  /** One pass: the watchdog always, the sweeper when its interval has passed. Returns the repairs made. */
  async tick(): Promise<Repair[]> {
    const repairs = await this.resumeWatchdog();
    if (Date.now() - this.lastSweep >= this.options.sweepIntervalMs) {
      this.lastSweep = Date.now();
      repairs.push(...(await this.sweep()));
    }
    return repairs;
  }

  private async resumeWatchdog(): Promise<Repair[]> {
    const { rows } = await this.pool.query<{ id: string }>(
      `SELECT id FROM batch_jobs WHERE ${UNTAKEN_RESUME} ORDER BY resumed_at LIMIT 100`,
      [this.options.resumeWatchdogMs, this.options.leaseStaleMs],
    );
    const repairs: Repair[] = [];
    for (const { id } of rows) {
      const repaired = await this.repair(id, async (client) => {
        // The same condition again, under the row lock: a claim, another process or a pause and a
        // new resume may have changed it since. A runner that still holds the lease (it was
        // letting items finish when the resume came) answers the resume itself.
        if (!(await lockedAndStill(client, id, UNTAKEN_RESUME, [this.options.resumeWatchdogMs, this.options.leaseStaleMs]))) return null;
        const started = await startOrchestratorChain(client, id);
        this.logger.warn({ batchId: id, epoch: started?.epoch }, "no orchestrator took the resumed batch; started a new chain");
        return started ? { repair: "restart" as const, outboxIds: [started.outboxId] } : null;
      });
      if (repaired) repairs.push(repaired);
    }
    return repairs;
  }

  private async sweep(): Promise<Repair[]> {
    const { rows } = await this.pool.query<{ id: string }>(
      `SELECT id FROM batch_jobs WHERE ${STALLED} ORDER BY updated_at LIMIT 500`,
      [this.options.stallMs, this.options.leaseStaleMs],
    );
    const repairs: Repair[] = [];
    for (const { id } of rows) {
      const repaired = await this.repair(id, (client) => this.repairStalled(client, id));
      if (repaired) repairs.push(repaired);
    }
    return repairs;
  }

  private async repairStalled(client: PoolClient, id: string): Promise<{ repair: Repair; outboxIds: string[] } | null> {
    // The same condition again, under the row lock: another process may have repaired it meanwhile.
    const batch = await lockedAndStill(client, id, STALLED, [this.options.stallMs, this.options.leaseStaleMs]);
    if (!batch) return null;

    if (batch.status === "running") {
      const started = await startOrchestratorChain(client, id);
      this.logger.warn({ batchId: id, epoch: started?.epoch }, "restarting the orchestrator of a stalled running batch");
      return started ? { repair: "restart", outboxIds: [started.outboxId] } : null;
    }
    if (batch.status === "cancelled") {
      const orphans = await cancelOrphanedItems(client, id);
      const closed = await closeOutBatch(client, id);
      this.logger.warn({ batchId: id, orphans }, "closed out a cancelled batch whose runner and watcher are gone");
      return { repair: "close-cancelled", outboxIds: closed?.finishedOutboxId ? [closed.finishedOutboxId] : [] };
    }
    if (batch.generating_items > 0) {
      const requeued = await requeueItemsOfDeadRunner(client, id);
      this.logger.warn({ batchId: id, requeued }, "items left generating by a stopped runner of a paused batch are pending again");
      return { repair: "requeue-paused", outboxIds: [] };
    }
    const closed = await closeOutBatch(client, id);
    return closed?.finishedOutboxId ? { repair: "close-paused", outboxIds: [closed.finishedOutboxId] } : null;
  }

  private async repair(
    batchId: string,
    fn: (client: PoolClient) => Promise<{ repair: Repair; outboxIds: string[] } | null>,
  ): Promise<Repair | null> {
    const done = await withTransaction(this.pool, fn).catch((error: unknown) => {
      this.logger.warn({ err: error, batchId }, "could not repair a batch; will retry");
      return null;
    });
    if (!done) return null;
    if (done.outboxIds.length > 0) void this.outbox.flush(done.outboxIds);
    return done.repair;
  }
}
