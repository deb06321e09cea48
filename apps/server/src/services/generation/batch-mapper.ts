import {
  allowedActionsFor,
  estimateEta,
  type BatchDetail,
  type BatchItem,
  type BatchProgress,
  type BatchProgressNotification,
  type BatchSummary,
} from "@batchgen/types";
import type { BatchItemRow } from "../../repositories/batch-item.repository.ts";
import type { BatchJobRow } from "../../repositories/batch-job.repository.ts";

const iso = (value: Date | null) => (value ? value.toISOString() : null);

/** A batch's status and counters, from its row (REST) or from its progress notification (the stream). */
export type BatchState = Omit<BatchProgressNotification, "kind">;

export function batchStateOf(row: BatchJobRow): BatchState {
  return {
    batchId: row.id,
    status: row.status,
    totalItems: row.total_items,
    completedItems: row.completed_items,
    failedItems: row.failed_items,
    cancelledItems: row.cancelled_items,
    generatingItems: row.generating_items,
    updatedAt: row.updated_at.toISOString(),
    version: Number(row.version),
  };
}

/**
 * The live view of a batch — counts, what the owner may do next, the ETA — built the same way for
 * a REST read and for every event of the live stream: this is the one place it is computed.
 */
export function toBatchView(state: BatchState, finishTimesMs: readonly number[], nowMs = Date.now()): BatchProgress {
  const pendingItems = state.totalItems - state.completedItems - state.failedItems - state.cancelledItems - state.generatingItems;
  return {
    id: state.batchId,
    status: state.status,
    totalItems: state.totalItems,
    completedItems: state.completedItems,
    failedItems: state.failedItems,
    cancelledItems: state.cancelledItems,
    inFlightItems: state.generatingItems,
    pendingItems,
    allowedActions: [...allowedActionsFor(state.status)],
    eta: state.status === "running" ? estimateEta(pendingItems + state.generatingItems, finishTimesMs, nowMs) : null,
    updatedAt: new Date(state.updatedAt).toISOString(),
  };
}

/** A batch as REST returns it: its configuration and timestamps around the live view. */
export function toBatchDetail(row: BatchJobRow, finishTimesMs: readonly number[], nowMs = Date.now()): BatchDetail {
  return {
    ...toBatchView(batchStateOf(row), finishTimesMs, nowMs),
    config: row.config,
    createdAt: row.created_at.toISOString(),
    startedAt: iso(row.started_at),
    pausedAt: iso(row.paused_at),
    cancelledAt: iso(row.cancelled_at),
    finishedAt: iso(row.finished_at),
  };
}

/** A batch in a list: the detail without the per-batch extras. */
export function toBatchSummary(row: BatchJobRow): BatchSummary {
  const { allowedActions: _actions, eta: _eta, ...summary } = toBatchDetail(row, []);
  return summary;
}

export function toBatchItem(row: BatchItemRow): BatchItem {
  return {
    id: row.id,
    batchId: row.batch_id,
    position: row.position,
    status: row.status,
    attempts: row.attempts,
    result: row.result,
    error: row.error,
    startedAt: iso(row.started_at),
    finishedAt: iso(row.finished_at),
  };
}
