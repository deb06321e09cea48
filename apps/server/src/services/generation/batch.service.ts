import { withTransaction, type Pool } from "@batchgen/db";
import type { AuthUser, BatchConfig, BatchDetail, BatchItem, BatchItemStatus, BatchSummary, GeneratorName } from "@batchgen/types";
import { validationError } from "../../errors/app-error.ts";
import { batchCursorSchema, decodeCursor, encodeCursor, itemCursorSchema } from "../../lib/cursor.ts";
import { differingFields, idempotencyConflict } from "../../lib/idempotency.ts";
import { claimCreateKey, completeCreateKey } from "../../repositories/batch-create-idempotency.repository.ts";
import { listItemsByBatch, recentFinishTimes } from "../../repositories/batch-item.repository.ts";
import {
  findBatchById,
  insertBatchWithItems,
  listBatchesByUser,
  startOrchestratorChain,
  type BatchCursor,
  type BatchJobRow,
} from "../../repositories/batch-job.repository.ts";
import type { OutboxDispatcher } from "../outbox-dispatcher.service.ts";
import { toBatchDetail, toBatchItem, toBatchSummary } from "./batch-mapper.ts";
import { findOwnedBatch } from "./batch-ownership.ts";

export interface CreateOptions {
  /** The Idempotency-Key header (already validated). */
  readonly idempotencyKey?: string;
}

/** What the controller sends back: the batch, its status (201), and whether it is a replay of the key's first answer. */
export interface CreateResult {
  readonly statusCode: number;
  readonly batch: BatchDetail;
  /** `batch` as the JSON text to send: serialized once, stored with the key, replayed as is. */
  readonly batchJson: string;
  readonly replayed: boolean;
}

export interface Page<T> {
  readonly items: T[];
  readonly nextCursor: string | null;
}

const ETA_SAMPLE = 30;

/** Creating batches and reading them back; every read is owner-only. */
export class BatchService {
  constructor(
    private readonly pool: Pool,
    private readonly outbox: Pick<OutboxDispatcher, "flush">,
    /** Generators this server can run; asking for another is a 400, not a batch whose every item fails. */
    private readonly availableGenerators: readonly GeneratorName[] = ["simulated"],
  ) {}

  /**
   * Creates the batch `running` with its items `pending`, and `batch.started` in the same transaction.
   * With an Idempotency-Key the transaction first claims (user, key): a retry with the same request
   * gets the first 201 back (one batch, however many retries or concurrent duplicates), the same key
   * with a different request is 422 and writes nothing (docs/decisions/idempotency-keys.md).
   */
  async createBatch(user: AuthUser, config: BatchConfig, options: CreateOptions = {}): Promise<CreateResult> {
    if (!this.availableGenerators.includes(config.generator)) {
      throw validationError(
        `generator: "${config.generator}" is not configured on this server (available: ${this.availableGenerators.join(", ")})`,
        { field: "generator" },
      );
    }
    const key = options.idempotencyKey;
    const outcome = await withTransaction(this.pool, async (client) => {
      if (key) {
        const claim = await claimCreateKey(client, user.sub, key, config);
        if (!claim.claimed) {
          const fields = differingFields(claim.stored.request, config);
          // Thrown: the transaction rolls back, so a conflicting request writes nothing.
          if (fields.length > 0) throw idempotencyConflict(key, "to create a batch", fields, { batchId: claim.stored.batchId });
          return {
            kind: "replay" as const,
            result: { statusCode: claim.stored.statusCode, batch: claim.stored.response, batchJson: claim.stored.responseJson, replayed: true },
          };
        }
      }
      const created = await insertBatchWithItems(client, {
        userId: user.sub,
        institutionId: user.institution_id,
        config,
      });
      const chain = await startOrchestratorChain(client, created.id);
      const batch = toBatchDetail(created, []);
      const batchJson = JSON.stringify(batch);
      if (key) await completeCreateKey(client, user.sub, key, { batchId: created.id, statusCode: 201, responseJson: batchJson });
      return { kind: "created" as const, result: { statusCode: 201, batch, batchJson, replayed: false }, eventRowId: chain!.outboxId };
    });
    if (outcome.kind === "replay") return outcome.result;
    // Sent right away but not awaited: the batch exists once committed, and the outbox
    // retries delivery if Inngest is slow or down.
    void this.outbox.flush([outcome.eventRowId]);
    return outcome.result;
  }

  /** The batch if the caller owns it: 404 when it does not exist (or the id is malformed), 403 when it is someone else's. */
  async getOwnedBatch(user: AuthUser, batchId: string): Promise<BatchJobRow> {
    return findOwnedBatch(user, batchId, async (id) => {
      const row = await findBatchById(this.pool, id);
      return row ? { ...row, ownerId: row.user_id } : null;
    });
  }

  async getBatchDetail(user: AuthUser, batchId: string): Promise<BatchDetail> {
    const batch = await this.getOwnedBatch(user, batchId);
    return this.detailOf(batch);
  }

  async detailOf(batch: BatchJobRow): Promise<BatchDetail> {
    return (await this.detailWithFinishTimes(batch)).detail;
  }

  /**
   * The detail and the finish times its ETA came from: a live stream continues from the same
   * sample, so its first progress event after a (re)connect keeps the snapshot's ETA.
   */
  async detailWithFinishTimes(batch: BatchJobRow): Promise<{ detail: BatchDetail; finishTimesMs: number[] }> {
    const finishes = batch.status === "running" ? await recentFinishTimes(this.pool, batch.id, ETA_SAMPLE) : [];
    const finishTimesMs = finishes.map((date) => date.getTime()).sort((a, b) => a - b);
    return { detail: toBatchDetail(batch, finishTimesMs), finishTimesMs };
  }

  async listBatches(user: AuthUser, page: { limit: number; cursor?: string }): Promise<Page<BatchSummary>> {
    const after: BatchCursor | undefined = page.cursor ? decodeCursor(page.cursor, batchCursorSchema) : undefined;
    const rows = await listBatchesByUser(this.pool, user.sub, { limit: page.limit + 1, after });
    const items = rows.slice(0, page.limit);
    const last = items[items.length - 1];
    return {
      items: items.map(toBatchSummary),
      nextCursor: rows.length > page.limit && last ? encodeCursor({ createdAt: last.created_key, id: last.id }) : null,
    };
  }

  async listItems(
    user: AuthUser,
    batchId: string,
    page: { limit: number; cursor?: string; status?: BatchItemStatus },
  ): Promise<Page<BatchItem>> {
    await this.getOwnedBatch(user, batchId);
    const after = page.cursor ? decodeCursor(page.cursor, itemCursorSchema) : undefined;
    const rows = await listItemsByBatch(this.pool, batchId, {
      limit: page.limit + 1,
      afterPosition: after?.position,
      status: page.status,
    });
    const items = rows.slice(0, page.limit);
    const last = items[items.length - 1];
    return {
      items: items.map(toBatchItem),
      nextCursor: rows.length > page.limit && last ? encodeCursor({ position: last.position }) : null,
    };
  }
}
