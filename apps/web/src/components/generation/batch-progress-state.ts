import { allowedActionsFor, type BatchDetail, type BatchItem, type BatchProgress, type BatchStatus } from "@batchgen/types";

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
 * A batch read with GET (after a control call) may be older than the last stream event that
 * already reached the page; counters only grow, so never let it move them backwards.
 */
export function applyFetchedBatch(current: BatchDetail | null, fetched: BatchDetail): BatchDetail {
  if (!current || current.id !== fetched.id) return fetched;
  return doneCount(fetched) >= doneCount(current) ? fetched : current;
}

/** What a successful control call tells us right away, before the stream confirms it. */
export function applyControlResult(current: BatchDetail | null, newStatus: string): BatchDetail | null {
  if (!current) return current;
  const status = newStatus as BatchStatus;
  return { ...current, status, allowedActions: [...allowedActionsFor(status)], eta: status === "running" ? current.eta : null };
}

export function applyItemEvent(items: readonly BatchItem[], event: Pick<BatchItem, "id" | "position" | "status">): BatchItem[] {
  let changed = false;
  const next = items.map((item) => {
    if (item.id !== event.id || item.status === event.status) return item;
    changed = true;
    return { ...item, status: event.status };
  });
  return changed ? next : (items as BatchItem[]);
}

/** Items processed so far (the progress bar's value): generated or given up on. */
export function processedCount(batch: Pick<BatchDetail, "completedItems" | "failedItems">): number {
  return batch.completedItems + batch.failedItems;
}
