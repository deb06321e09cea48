import { randomUUID } from "node:crypto";
import { batchStartedEvent, type BatchEvent, type BatchStatusTransition } from "@batchgen/types";
import type {
  BatchControlStore,
  ControlBatch,
  ControlEventRecord,
  LockedBatchTransaction,
  StoredControlResponse,
} from "../../repositories/batch-control.repository.ts";

export interface FakeBatch {
  id: string;
  user_id: string;
  status: string;
  total_items: number;
  completed_items: number;
  failed_items: number;
}

export interface FakeItem {
  id: string;
  batchId: string;
  position: number;
  status: "pending" | "generating" | "completed" | "failed" | "cancelled";
  result: unknown;
}

/**
 * BatchControlStore in memory, for the service's unit tests. A transaction
 * works on copies and publishes them only when the callback returns, so a
 * thrown error leaves nothing half-written — as the SQL store's rollback does.
 */
export class FakeBatchControlStore implements BatchControlStore {
  readonly batches = new Map<string, FakeBatch>();
  readonly items: FakeItem[] = [];
  readonly events: (ControlEventRecord & { id: string; createdAt: Date })[] = [];
  readonly outbox: { id: string; event: BatchEvent; sent: boolean }[] = [];
  readonly idempotency = new Map<string, StoredControlResponse>();
  private epoch = 1;

  addBatch(batch: FakeBatch, itemStatuses: FakeItem["status"][] = []): void {
    this.batches.set(batch.id, { ...batch });
    itemStatuses.forEach((status, position) =>
      this.items.push({ id: randomUUID(), batchId: batch.id, position, status, result: status === "completed" ? { stem: `q${position}` } : null }),
    );
  }

  findBatch(batchId: string): Promise<ControlBatch | null> {
    const batch = this.batches.get(batchId);
    return Promise.resolve(batch ? { id: batch.id, userId: batch.user_id, status: batch.status } : null);
  }

  findIdempotentResponse(userId: string, batchId: string, key: string): Promise<StoredControlResponse | null> {
    return Promise.resolve(this.idempotency.get(`${userId}/${batchId}/${key}`) ?? null);
  }

  async withLockedBatch<T>(batchId: string, fn: (tx: LockedBatchTransaction) => Promise<T>): Promise<T | null> {
    const current = this.batches.get(batchId);
    if (!current) return null;
    const batch = { ...current };
    const items = this.items.map((item) => ({ ...item }));
    const events: typeof this.events = [];
    const outbox: typeof this.outbox = [];
    const idempotency = new Map<string, StoredControlResponse>();
    const result = await fn({
      batch: { id: batch.id, userId: batch.user_id, status: batch.status },
      findIdempotentResponse: (userId, key) => this.findIdempotentResponse(userId, batchId, key),
      transition: (to) => {
        batch.status = to;
        if (to === "cancelled") {
          for (const item of items) if (item.batchId === batchId && item.status === "pending") item.status = "cancelled";
        }
        return Promise.resolve();
      },
      recordControlEvent: (record) => {
        const row = { ...record, id: randomUUID(), createdAt: new Date() };
        events.push(row);
        return Promise.resolve({ id: row.id, createdAt: row.createdAt });
      },
      requeueFailedItems: () => {
        batch.status = "running";
        const failed = items.filter((item) => item.batchId === batchId && item.status === "failed");
        for (const item of failed) item.status = "pending";
        return Promise.resolve(failed.length);
      },
      startOrchestratorChain: () => {
        const id = String(this.outbox.length + outbox.length + 1);
        outbox.push({ id, event: batchStartedEvent(batchId, ++this.epoch), sent: false });
        return Promise.resolve(id);
      },
      enqueueEvent: (event) => {
        const id = String(this.outbox.length + outbox.length + 1);
        outbox.push({ id, event, sent: false });
        return Promise.resolve(id);
      },
      saveIdempotentResponse: (userId, key, stored) => {
        idempotency.set(`${userId}/${batchId}/${key}`, stored);
        return Promise.resolve();
      },
    });
    this.batches.set(batchId, batch);
    this.items.splice(0, this.items.length, ...items);
    this.events.push(...events);
    this.outbox.push(...outbox);
    for (const [key, value] of idempotency) this.idempotency.set(key, value);
    return result;
  }

  private readonly flushes = new Set<Promise<void>>();

  /**
   * The outbox's immediate send, in memory: hands the given rows to `sender` one event at a time
   * and marks each sent once the sender resolves; a failed send leaves the row for the poller.
   */
  outboxSendingTo(sender: { send(event: BatchEvent): Promise<unknown> }): { flush(ids: readonly string[]): Promise<void> } {
    return {
      flush: (ids) => {
        const rows = this.outbox.filter((row) => ids.includes(row.id) && !row.sent);
        const flush = Promise.all(
          rows.map((row) =>
            sender.send(row.event).then(
              () => {
                row.sent = true;
              },
              () => undefined,
            ),
          ),
        )
          .then(() => undefined)
          .finally(() => this.flushes.delete(flush));
        this.flushes.add(flush);
        return flush;
      },
    };
  }

  /** Waits for the sends already started. */
  async settled(): Promise<void> {
    await Promise.all([...this.flushes]);
  }

  listHistory(batchId: string, limit: number): Promise<BatchStatusTransition[]> {
    return Promise.resolve(
      this.events
        .filter((event) => event.batchId === batchId)
        .reverse()
        .slice(0, limit)
        .map((event) => ({
          id: event.id,
          batchId: event.batchId,
          action: event.action,
          previousStatus: event.previousStatus,
          newStatus: event.newStatus,
          actorId: event.actorId,
          actorEmail: null,
          reason: event.reason,
          requestId: event.requestId,
          createdAt: event.createdAt.toISOString(),
        })),
    );
  }
}
