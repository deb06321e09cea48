import { withTransaction, type Pool, type PoolClient } from "@batchgen/db";
import type { BatchControlAction, BatchEvent, BatchControlResponse, BatchHistoryAction, BatchStatusTransition } from "@batchgen/types";
import { applyControlTransition, findBatchById, lockBatchById, requeueFailedItems, startOrchestratorChain } from "./batch-job.repository.ts";
import { IDEMPOTENCY_TTL } from "../lib/idempotency.ts";
import { enqueueEvent } from "./event-outbox.repository.ts";

/** What the control service needs to know about a batch. */
export interface ControlBatch {
  readonly id: string;
  readonly userId: string;
  readonly status: string;
}

/** A control request in canonical form: the path's action and the reason (null when none was sent). */
export interface ControlRequest {
  readonly action: BatchControlAction;
  readonly reason: string | null;
}

export interface StoredControlResponse {
  readonly action: BatchControlAction;
  /** The request this response answered; the same key with another request is a conflict. */
  readonly request: ControlRequest;
  readonly statusCode: number;
  readonly response: BatchControlResponse;
  /** The response as the JSON text that was sent (stored as written, and sent again on a replay). */
  readonly responseJson: string;
}

export interface ControlEventRecord {
  readonly batchId: string;
  readonly actorId: string;
  readonly action: BatchControlAction;
  readonly previousStatus: string;
  readonly newStatus: string;
  readonly reason: string | null;
  readonly idempotencyKey: string | null;
  readonly requestId: string | null;
}

/** The operations available while the batch row is locked (one transaction). */
export interface LockedBatchTransaction {
  readonly batch: ControlBatch;
  findIdempotentResponse(userId: string, key: string): Promise<StoredControlResponse | null>;
  /** Sets the status; on cancel also moves every pending item to cancelled. */
  transition(to: "running" | "paused" | "cancelled"): Promise<void>;
  /** Retry: the failed items back to pending, the batch running again; returns how many moved. */
  requeueFailedItems(): Promise<number>;
  /** Starts a new orchestrator chain (a new epoch) for the batch; returns the outbox row of its event. */
  startOrchestratorChain(): Promise<string>;
  /** Appends to the audit; returns its id and time (taken after the lock, so history order is lock order). */
  recordControlEvent(record: ControlEventRecord): Promise<{ id: string; createdAt: Date }>;
  /** Writes the event to the outbox; returns the outbox row id. */
  enqueueEvent(event: BatchEvent): Promise<string>;
  saveIdempotentResponse(userId: string, key: string, stored: StoredControlResponse): Promise<void>;
}

/** Storage for the control service; SQL here, an in-memory fake in unit tests. */
export interface BatchControlStore {
  findBatch(batchId: string): Promise<ControlBatch | null>;
  findIdempotentResponse(userId: string, batchId: string, key: string): Promise<StoredControlResponse | null>;
  /** Runs `fn` with the batch row locked; null when the batch does not exist. Commits only if fn returns. */
  withLockedBatch<T>(batchId: string, fn: (tx: LockedBatchTransaction) => Promise<T>): Promise<T | null>;
  listHistory(batchId: string, limit: number): Promise<BatchStatusTransition[]>;
}

async function findStored(db: Pool | PoolClient, userId: string, batchId: string, key: string): Promise<StoredControlResponse | null> {
  const { rows } = await db.query<{ action: BatchControlAction; request: ControlRequest; status_code: number; response: string }>(
    // ::text: the stored text as written (the column is json), not a value to serialize again.
    `SELECT action, request, status_code, response::text AS response FROM control_idempotency_keys
     WHERE user_id = $1 AND batch_id = $2 AND idempotency_key = $3 AND created_at > now() - $4::interval`,
    [userId, batchId, key, IDEMPOTENCY_TTL],
  );
  const row = rows[0];
  return row
    ? { action: row.action, request: row.request, statusCode: row.status_code, response: JSON.parse(row.response) as BatchControlResponse, responseJson: row.response }
    : null;
}

export class PgBatchControlStore implements BatchControlStore {
  constructor(private readonly pool: Pool) {}

  async findBatch(batchId: string): Promise<ControlBatch | null> {
    const row = await findBatchById(this.pool, batchId);
    return row ? { id: row.id, userId: row.user_id, status: row.status } : null;
  }

  findIdempotentResponse(userId: string, batchId: string, key: string): Promise<StoredControlResponse | null> {
    return findStored(this.pool, userId, batchId, key);
  }

  async withLockedBatch<T>(batchId: string, fn: (tx: LockedBatchTransaction) => Promise<T>): Promise<T | null> {
    return withTransaction(this.pool, async (client) => {
      const row = await lockBatchById(client, batchId);
      if (!row) return null;
      const tx: LockedBatchTransaction = {
        batch: { id: row.id, userId: row.user_id, status: row.status },
        findIdempotentResponse: (userId, key) => findStored(client, userId, batchId, key),
        transition: async (to) => {
          await applyControlTransition(client, batchId, to);
        },
        recordControlEvent: async (record) => {
          const { rows } = await client.query<{ id: string; created_at: Date }>(
            `INSERT INTO batch_control_events
               (batch_id, actor_id, action, previous_status, new_status, reason, idempotency_key, request_id, created_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, clock_timestamp()) RETURNING id, created_at`,
            [record.batchId, record.actorId, record.action, record.previousStatus, record.newStatus, record.reason, record.idempotencyKey, record.requestId],
          );
          const row = rows[0]!;
          return { id: row.id, createdAt: row.created_at };
        },
        enqueueEvent: (event) => enqueueEvent(client, event),
        requeueFailedItems: () => requeueFailedItems(client, batchId),
        startOrchestratorChain: async () => {
          const started = await startOrchestratorChain(client, batchId);
          if (!started) throw new Error(`batch ${batchId} vanished while locked`);
          return started.outboxId;
        },
        saveIdempotentResponse: async (userId, key, stored) => {
          // An expired row for the same key is replaced: the 24 h window starts again.
          await client.query(
            `INSERT INTO control_idempotency_keys (user_id, batch_id, idempotency_key, action, request, status_code, response)
             VALUES ($1, $2, $3, $4, $5, $6, $7)
             ON CONFLICT (user_id, batch_id, idempotency_key) DO UPDATE
               SET action = EXCLUDED.action, request = EXCLUDED.request, status_code = EXCLUDED.status_code,
                   response = EXCLUDED.response, created_at = now()`,
            [userId, batchId, key, stored.action, JSON.stringify(stored.request), stored.statusCode, stored.responseJson],
          );
        },
      };
      return fn(tx);
    });
  }


  async listHistory(batchId: string, limit: number): Promise<BatchStatusTransition[]> {
    const { rows } = await this.pool.query<{
      id: string;
      batch_id: string;
      action: BatchHistoryAction;
      previous_status: string;
      new_status: string;
      actor_id: string | null;
      actor_email: string | null;
      reason: string | null;
      request_id: string | null;
      created_at: Date;
    }>(
      `SELECT e.id, e.batch_id, e.action, e.previous_status, e.new_status, e.actor_id, u.email AS actor_email,
              e.reason, e.request_id, e.created_at
       FROM batch_control_events e
       LEFT JOIN auth.users u ON u.id = e.actor_id
       WHERE e.batch_id = $1
       ORDER BY e.created_at DESC, e.id DESC
       LIMIT $2`,
      [batchId, limit],
    );
    return rows.map((row) => ({
      id: row.id,
      batchId: row.batch_id,
      action: row.action,
      previousStatus: row.previous_status,
      newStatus: row.new_status,
      actorId: row.actor_id,
      actorEmail: row.actor_email,
      reason: row.reason,
      requestId: row.request_id,
      createdAt: row.created_at.toISOString(),
    }));
  }
}
