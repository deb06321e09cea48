import { randomUUID } from "node:crypto";
import { hostname } from "node:os";
import { withTransaction, type Pool } from "@batchgen/db";
import type { Logger } from "pino";

export interface StreamSlotsOptions {
  /** A slot whose heartbeat is older than this belongs to a process that died; it no longer counts. */
  readonly staleMs: number;
  /** How often this process refreshes the heartbeat of the slots it holds. */
  readonly heartbeatMs: number;
}

export const DEFAULT_STREAM_SLOTS_OPTIONS: StreamSlotsOptions = { staleMs: 30_000, heartbeatMs: 10_000 };

/**
 * Open live streams per user, counted in PostgreSQL (`live_stream_slots`) so the limit holds across
 * every API process. Each stream holds one row; this process heartbeats the rows of its open
 * streams, and deletes a row when its stream closes. A process that dies without closing (SIGKILL)
 * stops heartbeating: its rows stop counting after `staleMs` and are deleted by the next
 * acquire for that user or by any process's heartbeat tick. A release that cannot reach the
 * database is safe too: the slot is no longer heartbeated, so it goes stale the same way.
 */
export class StreamSlots {
  /** Identifies this process in the table (for an operator reading it; nothing keys on it). */
  readonly holder = `${hostname()}:${process.pid}:${randomUUID().slice(0, 8)}`;
  private readonly open = new Set<string>();
  private timer: NodeJS.Timeout | undefined;
  private ticking: Promise<void> | undefined;

  constructor(
    private readonly pool: Pool,
    private readonly logger: Logger,
    private readonly options: StreamSlotsOptions = DEFAULT_STREAM_SLOTS_OPTIONS,
  ) {}

  /**
   * Takes one of the user's `limit` slots, or returns null when all are taken. Throws when the
   * database cannot be reached (the caller answers 503; see docs/decisions/shared-limits.md).
   */
  async acquire(userId: string, limit: number): Promise<string | null> {
    const id = randomUUID();
    const taken = await withTransaction(this.pool, async (client) => {
      // One user's acquires serialize on this lock, so count-then-insert cannot overshoot.
      await client.query("SELECT pg_advisory_xact_lock(hashtext('live_stream_slots'), hashtext($1))", [userId]);
      await client.query("DELETE FROM live_stream_slots WHERE user_id = $1 AND heartbeat_at < clock_timestamp() - make_interval(secs => $2 / 1000.0)", [
        userId,
        this.options.staleMs,
      ]);
      const { rowCount } = await client.query(
        `INSERT INTO live_stream_slots (id, user_id, holder)
         SELECT $1, $2, $3 WHERE (SELECT count(*) FROM live_stream_slots WHERE user_id = $2) < $4`,
        [id, userId, this.holder, limit],
      );
      return rowCount === 1;
    });
    if (!taken) return null;
    this.open.add(id);
    return id;
  }

  /** Frees a slot; never throws (a row that cannot be deleted now goes stale by itself). */
  release(id: string): void {
    if (!this.open.delete(id)) return;
    this.pool.query("DELETE FROM live_stream_slots WHERE id = $1", [id]).catch((error: unknown) => {
      this.logger.warn({ err: error }, "could not free a live-stream slot; it stops counting once its heartbeat is stale");
    });
  }

  /** Slots this process holds now. */
  get size(): number {
    return this.open.size;
  }

  start(): void {
    if (this.timer) return;
    this.timer = setInterval(() => {
      if (this.ticking) return;
      this.ticking = this.tick().finally(() => {
        this.ticking = undefined;
      });
    }, this.options.heartbeatMs);
    this.timer.unref();
  }

  /** Stops heartbeating and frees every slot this process still holds. */
  async stop(): Promise<void> {
    clearInterval(this.timer);
    this.timer = undefined;
    await this.ticking;
    const ids = [...this.open];
    this.open.clear();
    if (ids.length === 0) return;
    await this.pool.query("DELETE FROM live_stream_slots WHERE id = ANY($1::uuid[])", [ids]).catch((error: unknown) => {
      this.logger.warn({ err: error }, "could not free the live-stream slots at shutdown; they stop counting once stale");
    });
  }

  private async tick(): Promise<void> {
    try {
      if (this.open.size > 0) {
        await this.pool.query("UPDATE live_stream_slots SET heartbeat_at = clock_timestamp() WHERE id = ANY($1::uuid[])", [[...this.open]]);
      }
      await this.pool.query("DELETE FROM live_stream_slots WHERE heartbeat_at < clock_timestamp() - make_interval(secs => $1 / 1000.0)", [this.options.staleMs]);
    } catch (error) {
      this.logger.warn({ err: error }, "live-stream slot heartbeat failed");
    }
  }
}
