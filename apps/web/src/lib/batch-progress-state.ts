import {
  allowedActionsFor,
  batchStatusSchema,
  type BatchDetail,
  type BatchItem,
  type BatchItemChange,
  type BatchProgress,
} from "@batchgen/types";
import type { BatchControlResult } from "@/lib/batch-api";

const doneCount = (batch: Pick<BatchDetail, "completedItems" | "failedItems" | "cancelledItems">) =>
  batch.completedItems + batch.failedItems + batch.cancelledItems;

/**
 * Stream events arrive in commit order, so each one simply replaces the live fields (their
 * `updatedAt` is the transaction's start time and is not monotonic across concurrent commits).
 */
export function applyStreamBatch(current: BatchDetail | null, incoming: BatchDetail | BatchProgress): BatchDetail | null {
  if ("config" in incoming) return incoming;
  if (!current || current.id !== incoming.id) return current;
  return { ...current, ...incoming };
}

/**
 * A batch read with GET (the first read, or after a 409) may be older than the last stream event
 * that already reached the page; counters only grow, so never let it move them backwards.
 */
export function applyFetchedBatch(current: BatchDetail | null, fetched: BatchDetail): BatchDetail {
  if (!current || current.id !== fetched.id) return fetched;
  return doneCount(fetched) >= doneCount(current) ? fetched : current;
}

/**
 * What a successful control call tells us right away, before the stream confirms it: the new
 * status (parsed: the answer types it as a string) and the actions the story allows from it. If the
 * page no longer shows the status the server moved from, the stream got there first (it may even
 * have moved on, e.g. a paused batch that drained and completed), and the page keeps what it has.
 */
export function applyControlResult(
  current: BatchDetail | null,
  result: Pick<BatchControlResult, "previousStatus" | "newStatus">,
): BatchDetail | null {
  if (!current || current.status !== result.previousStatus) return current;
  const parsed = batchStatusSchema.safeParse(result.newStatus);
  if (!parsed.success) return current;
  const status = parsed.data;
  return { ...current, status, allowedActions: [...allowedActionsFor(status)], eta: status === "running" ? current.eta : null };
}

export function applyItemEvent(items: BatchItem[], event: BatchItemChange): BatchItem[] {
  let changed = false;
  const next = items.map((item) => {
    if (item.id !== event.id || item.status === event.status) return item;
    changed = true;
    return { ...item, status: event.status };
  });
  return changed ? next : items;
}

/** Items processed so far (the progress bar's value): generated or given up on. */
export function processedCount(batch: Pick<BatchDetail, "completedItems" | "failedItems">): number {
  return batch.completedItems + batch.failedItems;
}
