import { allowedActionsFor, estimateEta, type BatchDetail, type BatchItem, type BatchProgress, type BatchSummary } from "@batchgen/types";
import type { BatchItemRow } from "../../repositories/batch-item.repository.ts";
import type { BatchJobRow } from "../../repositories/batch-job.repository.ts";

const iso = (value: Date | null) => (value ? value.toISOString() : null);

export function toBatchSummary(row: BatchJobRow): BatchSummary {
  return {
    id: row.id,
    status: row.status,
    config: row.config,
    totalItems: row.total_items,
    completedItems: row.completed_items,
    failedItems: row.failed_items,
    cancelledItems: row.cancelled_items,
    inFlightItems: row.generating_items,
    pendingItems: row.total_items - row.completed_items - row.failed_items - row.cancelled_items - row.generating_items,
    createdAt: row.created_at.toISOString(),
    startedAt: iso(row.started_at),
    pausedAt: iso(row.paused_at),
    cancelledAt: iso(row.cancelled_at),
    finishedAt: iso(row.finished_at),
    updatedAt: row.updated_at.toISOString(),
  };
}

export function toBatchDetail(row: BatchJobRow, finishTimesMs: readonly number[], nowMs = Date.now()): BatchDetail {
  const summary = toBatchSummary(row);
  return {
    ...summary,
    allowedActions: [...allowedActionsFor(row.status)],
    eta: row.status === "running" ? estimateEta(summary.pendingItems + summary.inFlightItems, finishTimesMs, nowMs) : null,
  };
}

/** The progress notification's payload (see the batch_progress trigger) as a client sees it. */
export interface BatchProgressNotification {
  kind: "batch";
  batchId: string;
  status: BatchDetail["status"];
  totalItems: number;
  completedItems: number;
  failedItems: number;
  cancelledItems: number;
  generatingItems: number;
  updatedAt: string;
}

export function toBatchProgress(note: BatchProgressNotification, finishTimesMs: readonly number[], nowMs = Date.now()): BatchProgress {
  const pendingItems = note.totalItems - note.completedItems - note.failedItems - note.cancelledItems - note.generatingItems;
  return {
    id: note.batchId,
    status: note.status,
    totalItems: note.totalItems,
    completedItems: note.completedItems,
    failedItems: note.failedItems,
    cancelledItems: note.cancelledItems,
    inFlightItems: note.generatingItems,
    pendingItems,
    allowedActions: [...allowedActionsFor(note.status)],
    eta: note.status === "running" ? estimateEta(pendingItems + note.generatingItems, finishTimesMs, nowMs) : null,
    updatedAt: new Date(note.updatedAt).toISOString(),
  };
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
