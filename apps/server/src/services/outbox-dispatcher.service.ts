import type { Pool } from "@batchgen/db";
import type { Logger } from "pino";
import { claimEvents, markEventsFailed, markEventsSent, type OutboxEvent } from "../repositories/event-outbox.repository.ts";

export interface OutboxDispatcherOptions {
  readonly pollIntervalMs: number;
  readonly batchSize: number;
  readonly maxBackoffMs: number;
  /** A send that takes longer counts as failed (retried later). */
  readonly sendTimeoutMs: number;
}

export const DEFAULT_OUTBOX_OPTIONS: OutboxDispatcherOptions = { pollIntervalMs: 1_000, batchSize: 100, maxBackoffMs: 15_000, sendTimeoutMs: 10_000 };

/** Sends events to Inngest: the Inngest client in production, a spy in unit tests. */
export interface EventSender {
  send(events: { id: string; name: string; data: Record<string, unknown> }[]): Promise<unknown>;
}

/** Rejects after `ms`; the send itself may still land later, which the event id makes harmless. */
export function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    promise,
    new Promise<never>((_resolve, reject) => {
      timer = setTimeout(() => reject(new Error(`event delivery timed out after ${ms} ms`)), ms);
    }),
  ]).finally(() => clearTimeout(timer));
}

/**
 * Delivers outbox rows to Inngest. `flush(ids)` right after a commit gives the normal case no
 * added latency; the poll loop retries whatever could not be sent (engine down, network blip)
 * with backoff, in id order. Rows are claimed with SKIP LOCKED and a short lease, so several API
 * processes can run this safely, and no database connection waits on the network.
 */
export class OutboxDispatcher {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private stopped = false;

  constructor(
    private readonly pool: Pool,
    private readonly sender: EventSender,
    private readonly logger: Logger,
    private readonly options: OutboxDispatcherOptions = DEFAULT_OUTBOX_OPTIONS,
  ) {}

  private lastHousekeeping = 0;

  start(): void {
    this.stopped = false;
    const tick = () => {
      if (this.stopped) return;
      this.running = this.dispatchDue()
        .then(() => this.housekeeping())
        .catch((error: unknown) => this.logger.warn({ err: error }, "outbox dispatch failed; will retry"))
        .finally(() => {
          if (!this.stopped) this.timer = setTimeout(tick, this.options.pollIntervalMs);
        });
    };
    this.timer = setTimeout(tick, this.options.pollIntervalMs);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.running;
    await Promise.all([...this.flushes]);
  }

  private readonly flushes = new Set<Promise<void>>();

  /** Sends the given rows now if nobody else is; failures are left for the poll loop. */
  flush(ids: readonly string[]): Promise<void> {
    if (ids.length === 0) return Promise.resolve();
    const flush = this.dispatch(ids)
      .then(() => undefined)
      .catch((error: unknown) => this.logger.warn({ err: error }, "could not send events right away; the outbox will retry"))
      .finally(() => this.flushes.delete(flush));
    this.flushes.add(flush);
    return flush;
  }

  /**
   * Every ten minutes: forget delivered events after a week and Idempotency-Keys (controls and
   * creates) after their 24 h window, so no table grows without bound.
   */
  private async housekeeping(): Promise<void> {
    if (Date.now() - this.lastHousekeeping < 600_000) return;
    this.lastHousekeeping = Date.now();
    await this.forgetExpired();
  }

  /** The deletes of `housekeeping`, now (tests). */
  async forgetExpired(): Promise<void> {
    await this.pool.query("DELETE FROM event_outbox WHERE sent_at < now() - interval '7 days'");
    await this.pool.query("DELETE FROM control_idempotency_keys WHERE created_at < now() - interval '24 hours'");
    await this.pool.query("DELETE FROM batch_create_idempotency_keys WHERE created_at < now() - interval '24 hours'");
  }

  /** One pass over due rows; returns how many were sent. */
  async dispatchDue(): Promise<number> {
    let total = 0;
    for (;;) {
      const sent = await this.dispatch();
      total += sent;
      if (sent < this.options.batchSize) return total;
    }
  }

  private async dispatch(ids?: readonly string[]): Promise<number> {
    const due = await claimEvents(this.pool, this.options.batchSize, ids);
    if (due.length === 0) return 0;
    const rowIds = due.map((event) => event.id);
    try {
      await withTimeout(
        this.sender.send(due.map((event: OutboxEvent) => ({ id: event.event_id, name: event.name, data: event.data }))),
        this.options.sendTimeoutMs,
      );
    } catch (error) {
      const attempts = Math.max(...due.map((event) => event.attempts)) + 1;
      const backoff = Math.min(this.options.maxBackoffMs, 250 * 2 ** Math.min(attempts, 10));
      await markEventsFailed(this.pool, rowIds, error instanceof Error ? error.message : String(error), backoff);
      this.logger.warn({ err: error, events: due.length, retryInMs: backoff }, "event delivery failed; queued for retry");
      return 0;
    }
    await markEventsSent(this.pool, rowIds);
    return due.length;
  }
}
