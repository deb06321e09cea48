import { batchNotificationSchema, type BatchChangeNotification } from "@batchgen/types";
import pg from "pg";
import type { Logger } from "pino";

export type BatchNotification =
  | BatchChangeNotification
  /** The listener reconnected: notifications may have been missed, read a fresh snapshot. */
  | { kind: "resync"; batchId: string }
  /** This process is shutting down: streams end, clients reconnect (to another process). */
  | { kind: "shutdown"; batchId: string };

export type BatchListener = (note: BatchNotification) => void;

export const PROGRESS_CHANNEL = "batch_progress";

/**
 * One LISTEN connection per API process, fanned out to every SSE client by
 * batch id. If the connection drops, it reconnects with backoff and tells
 * each subscriber to resync (read a fresh snapshot), since notifications sent
 * while it was away are gone.
 */
export class BatchEventsHub {
  private client: pg.Client | undefined;
  private readonly listeners = new Map<string, Set<BatchListener>>();
  private stopped = false;
  private closing = false;
  private reconnectTimer: NodeJS.Timeout | undefined;
  private attempt = 0;

  constructor(
    private readonly databaseUrl: string,
    private readonly logger: Logger,
  ) {}

  async start(): Promise<void> {
    this.stopped = false;
    await this.connect();
  }

  /**
   * Ends every open stream (clients reconnect elsewhere); call when shutdown begins. A stream that
   * subscribes from now on (its request was already under way) is told at once.
   */
  closeStreams(): void {
    this.closing = true;
    for (const batchId of [...this.listeners.keys()]) this.emit(batchId, { kind: "shutdown", batchId });
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.reconnectTimer);
    const client = this.client;
    this.client = undefined;
    await client?.end().catch(() => undefined);
  }


  subscribe(batchId: string, listener: BatchListener): () => void {
    if (this.closing) {
      // After the subscriber has its unsubscribe function, as with any other notification.
      queueMicrotask(() => listener({ kind: "shutdown", batchId }));
      return () => undefined;
    }
    let set = this.listeners.get(batchId);
    if (!set) {
      set = new Set();
      this.listeners.set(batchId, set);
    }
    set.add(listener);
    return () => {
      set.delete(listener);
      // Only its own set: a later subscriber of the same batch may have made a new one.
      if (set.size === 0 && this.listeners.get(batchId) === set) this.listeners.delete(batchId);
    };
  }


  private async connect(): Promise<void> {
    // keepAlive: a half-open connection (NAT timeout, failover) must surface as an error.
    const client = new pg.Client({
      connectionString: this.databaseUrl,
      application_name: "batchgen-api-listen",
      keepAlive: true,
      keepAliveInitialDelayMillis: 10_000,
    });
    const lost = (reason: string) => {
      if (this.client !== client) return;
      this.client = undefined;
      this.logger.warn(`progress listener lost (${reason}); reconnecting`);
      this.scheduleReconnect();
    };
    client.on("error", (error) => lost(error.message));
    client.on("end", () => lost("connection ended"));
    client.on("notification", (message) => this.dispatch(message.payload));
    try {
      await client.connect();
      await client.query(`LISTEN ${PROGRESS_CHANNEL}`);
    } catch (error) {
      await client.end().catch(() => undefined);
      if (this.stopped) return;
      this.logger.warn({ err: error }, "progress listener could not connect; retrying");
      this.scheduleReconnect();
      return;
    }
    if (this.stopped) {
      await client.end().catch(() => undefined);
      return;
    }
    const wasReconnect = this.attempt > 0;
    this.client = client;
    this.attempt = 0;
    if (wasReconnect) {
      for (const batchId of this.listeners.keys()) this.emit(batchId, { kind: "resync", batchId });
    }
  }

  private scheduleReconnect(): void {
    if (this.stopped) return;
    this.attempt += 1;
    const delay = Math.min(5_000, 200 * 2 ** Math.min(this.attempt, 5));
    clearTimeout(this.reconnectTimer);
    this.reconnectTimer = setTimeout(() => void this.connect(), delay);
  }

  private dispatch(payload: string | undefined): void {
    let raw: unknown;
    try {
      raw = JSON.parse(payload ?? "");
    } catch {
      raw = undefined;
    }
    const parsed = batchNotificationSchema.safeParse(raw);
    if (!parsed.success) {
      this.logger.warn({ payload: payload?.slice(0, 200) }, "ignored a progress notification that does not match its schema");
      return;
    }
    this.emit(parsed.data.batchId, parsed.data);
  }

  private emit(batchId: string, note: BatchNotification): void {
    const set = this.listeners.get(batchId);
    if (!set) return;
    for (const listener of set) {
      try {
        listener(note);
      } catch (error) {
        this.logger.error({ err: error, batchId }, "progress listener threw");
      }
    }
  }
}
