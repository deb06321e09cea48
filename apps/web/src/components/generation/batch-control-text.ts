import type { BatchControlAction, BatchStatus } from "@batchgen/types";
import { ApiNetworkError, ApiRequestError } from "@/lib/api";

function plural(count: number, one: string, many: string): string {
  return count === 1 ? one : many;
}

/** "Batch completed", "Batch completed with errors", ... — the story's "Batch [status]" label. */
export function terminalLabel(status: BatchStatus): string {
  return `Batch ${status.replaceAll("_", " ")}`;
}

/**
 * What the batch is doing, in words. Paused or cancelled with items still generating is the
 * draining state of ARCHITECTURE.md §3 invariant 8: "Pausing… 2 items finishing".
 */
export function describeBatchState(status: BatchStatus, inFlightItems: number): string {
  const finishing = `${inFlightItems} ${plural(inFlightItems, "item", "items")} finishing`;
  if (status === "paused") return inFlightItems > 0 ? `Pausing… ${finishing}` : "Batch paused";
  if (status === "cancelled") return inFlightItems > 0 ? `Cancelling… ${finishing}` : "Batch cancelled";
  if (status === "running") return "Batch running";
  return terminalLabel(status);
}

/** "12 pending items will be dropped, 2 in progress will finish, 6 completed are kept." */
export function describeCancelImpact(pendingItems: number, inFlightItems: number, completedItems: number): string {
  return [
    `${pendingItems} pending ${plural(pendingItems, "item", "items")} will be dropped`,
    `${inFlightItems} in progress will finish`,
    `${completedItems} completed ${plural(completedItems, "is", "are")} kept`,
  ].join(", ") + ".";
}

const VERB: Record<BatchControlAction, string> = { pause: "pause", resume: "resume", cancel: "cancel", retry_failed: "retry the failed items of" };
/** The same verbs without an object: "Could not pause: …", "Could not retry the failed items: …". */
const SHORT_VERB: Record<BatchControlAction, string> = { pause: "pause", resume: "resume", cancel: "cancel", retry_failed: "retry the failed items" };

/** A failed control call, in words, for the line next to the controls. */
export function describeControlError(action: BatchControlAction, error: unknown): string {
  const verb = VERB[action];
  if (error instanceof ApiNetworkError) {
    return `Could not reach the server to ${verb} the batch. Check your connection and try again.`;
  }
  if (error instanceof ApiRequestError) {
    if (error.code === "INVALID_TRANSITION") {
      const current = error.details?.currentStatus;
      const state = typeof current === "string" ? current.replaceAll("_", " ") : "in another state";
      return `Could not ${SHORT_VERB[action]}: the batch is already ${state}, changed in another tab or by another request. The controls now show its current state.`;
    }
    return `Could not ${verb} the batch: ${error.message}`;
  }
  return `Could not ${verb} the batch. Try again.`;
}

export function isDraining(status: BatchStatus, inFlightItems: number): boolean {
  return (status === "paused" || status === "cancelled") && inFlightItems > 0;
}

/** The retry button's label: "Retry 3 failed". */
export function retryLabel(failedItems: number): string {
  return `Retry ${failedItems} failed`;
}

/** What the live region says while the retry call runs. */
export function describeRetryRunning(failedItems: number): string {
  return `Sending ${failedItems} failed ${plural(failedItems, "item", "items")} back to the queue…`;
}

/** What the live region says once the retry was accepted. */
export function describeRetryDone(failedItems: number): string {
  return `Retrying ${failedItems} failed ${plural(failedItems, "item", "items")}: the batch is running again.`;
}
