import {
  ACTION_TARGET_STATUS,
  allowedActionsFor,
  batchControlEvent,
  batchControlEventDataSchema,
  type AuthUser,
  type BatchControlAction,
  type BatchControlResponse,
  type BatchStatusTransition,
} from "@batchgen/types";
import { BatchNotFoundError, InvalidBatchStatusTransitionError } from "../../errors/batch.errors.ts";
import { differingFields, idempotencyConflict } from "../../lib/idempotency.ts";
import type { BatchControlStore, ControlRequest, StoredControlResponse } from "../../repositories/batch-control.repository.ts";
import type { OutboxDispatcher } from "../outbox-dispatcher.service.ts";
import { findOwnedBatch } from "./batch-ownership.ts";

export interface ControlOptions {
  /** Optional, ≤ 500 characters; recorded in the audit. */
  readonly reason?: string;
  /**
   * The Idempotency-Key header: a retry with the same key and the same request (action and reason)
   * gets the first response back; the same key with another request is 422 IDEMPOTENCY_CONFLICT.
   */
  readonly idempotencyKey?: string;
  readonly requestId?: string;
}

/** What the controller sends back: the story's response, and whether it is a replay. */
export interface ControlResult {
  readonly statusCode: number;
  readonly response: BatchControlResponse;
  /** `response` as the JSON text to send: serialized once, stored with the key, replayed as is. */
  readonly responseJson: string;
  readonly replayed: boolean;
}

/**
 * Pause, resume and cancel (story F-47). Each call: find the batch (404),
 * check the owner (403), check the transition against
 * VALID_STATUS_TRANSITIONS (409), then — in one transaction holding the batch
 * row lock — change the status (cancel also drops every pending item), append
 * the audit row, and write the event to the outbox. After commit the outbox
 * sends it at once (the same path as every other event); if Inngest is
 * unreachable it delivers it later, so the change and its event never come
 * apart (docs/decisions/control-outbox.md).
 */
export class BatchControlService {
  constructor(
    private readonly store: BatchControlStore,
    private readonly outbox: Pick<OutboxDispatcher, "flush">,
  ) {}

  pause(user: AuthUser, batchId: string, options: ControlOptions = {}): Promise<ControlResult> {
    return this.control(user, batchId, "pause", options);
  }

  resume(user: AuthUser, batchId: string, options: ControlOptions = {}): Promise<ControlResult> {
    return this.control(user, batchId, "resume", options);
  }

  cancel(user: AuthUser, batchId: string, options: ControlOptions = {}): Promise<ControlResult> {
    return this.control(user, batchId, "cancel", options);
  }

  /**
   * A finished batch with failed items (`completed_with_errors` or `failed`) runs again for those
   * items only: they go back to pending with a fresh attempt budget, the batch is `running`, and a
   * new orchestrator chain starts (docs/decisions/retry-failed-items.md).
   */
  retryFailed(user: AuthUser, batchId: string, options: ControlOptions = {}): Promise<ControlResult> {
    return this.control(user, batchId, "retry_failed", options);
  }

  /** The control audit, newest first; owner only. */
  async history(user: AuthUser, batchId: string, limit = 100): Promise<BatchStatusTransition[]> {
    await this.findOwnedBatch(user, batchId);
    return this.store.listHistory(batchId, limit);
  }

  private findOwnedBatch(user: AuthUser, batchId: string) {
    return findOwnedBatch(user, batchId, async (id) => {
      const batch = await this.store.findBatch(id);
      return batch ? { ...batch, ownerId: batch.userId } : null;
    });
  }

  /**
   * The first response for this key, or 422 when the key answered a different request: another
   * action or another reason (docs/decisions/idempotency-keys.md).
   */
  private replay(stored: StoredControlResponse, request: ControlRequest, key: string): ControlResult {
    const fields = differingFields(stored.request, request);
    if (fields.length > 0) {
      throw idempotencyConflict(key, `on this batch (to ${stored.action})`, fields, { originalAction: stored.action, action: request.action });
    }
    return { statusCode: stored.statusCode, response: stored.response, responseJson: stored.responseJson, replayed: true };
  }

  private async control(user: AuthUser, batchId: string, action: BatchControlAction, options: ControlOptions): Promise<ControlResult> {
    const batch = await this.findOwnedBatch(user, batchId);
    const key = options.idempotencyKey;
    const request: ControlRequest = { action, reason: options.reason ?? null };
    if (key) {
      const stored = await this.store.findIdempotentResponse(user.sub, batchId, key);
      if (stored) return this.replay(stored, request, key);
    }
    if (!allowedActionsFor(batch.status).includes(action)) {
      throw new InvalidBatchStatusTransitionError(batchId, batch.status, action);
    }

    const newStatus = ACTION_TARGET_STATUS[action];
    const outcome = await this.store.withLockedBatch(batchId, async (tx) => {
      // Re-checked under the lock: a concurrent request may have won the row first.
      if (key) {
        const stored = await tx.findIdempotentResponse(user.sub, key);
        if (stored) return { kind: "replay" as const, result: this.replay(stored, request, key) };
      }
      const previousStatus = tx.batch.status;
      if (!allowedActionsFor(previousStatus).includes(action)) {
        throw new InvalidBatchStatusTransitionError(batchId, previousStatus, action);
      }
      if (action === "retry_failed") await tx.requeueFailedItems();
      else await tx.transition(ACTION_TARGET_STATUS[action] as "running" | "paused" | "cancelled");
      const audit = await tx.recordControlEvent({
        batchId,
        actorId: user.sub,
        action,
        previousStatus,
        newStatus,
        reason: options.reason ?? null,
        idempotencyKey: key ?? null,
        requestId: options.requestId ?? null,
      });
      const response: BatchControlResponse = {
        batchId,
        previousStatus,
        newStatus,
        action,
        timestamp: audit.createdAt.toISOString(),
      };
      // A retry starts a new orchestrator chain (its previous one ended with the batch). A resume
      // needs none: the parked run wakes on its event, and if it missed it (or died), the resume
      // watchdog starts one (docs/decisions/one-orchestrator-per-batch.md).
      const outboxIds =
        action === "retry_failed"
          ? [await tx.startOrchestratorChain()]
          : [
              await tx.enqueueEvent(
                batchControlEvent(
                  action,
                  batchControlEventDataSchema.parse({
                    batchId,
                    actorId: user.sub,
                    previousStatus,
                    newStatus,
                    requestId: options.requestId ?? null,
                    controlEventId: audit.id,
                  }),
                ),
              ),
            ];
      const responseJson = JSON.stringify(response);
      if (key) await tx.saveIdempotentResponse(user.sub, key, { action, request, statusCode: 200, response, responseJson });
      return { kind: "applied" as const, result: { statusCode: 200, response, responseJson, replayed: false }, outboxIds };
    });
    if (!outcome) throw new BatchNotFoundError(batchId);
    if (outcome.kind === "replay") return outcome.result;

    // Committed: the change is in force (claims read the status under the same lock). The
    // event is handed to Inngest right away but not awaited — a busy engine must not slow the
    // answer down; if the send fails, the outbox keeps retrying until it is delivered.
    void this.outbox.flush(outcome.outboxIds);
    return outcome.result;
  }
}
