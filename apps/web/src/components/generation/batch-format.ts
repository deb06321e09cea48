import type { BatchControlAction, BatchEta, BatchHistoryAction, BatchItemStatus, BatchStatus } from "@batchgen/types";

export const BATCH_STATUS_LABELS: Record<BatchStatus, string> = {
  running: "Running",
  paused: "Paused",
  completed: "Completed",
  completed_with_errors: "Completed with errors",
  failed: "Failed",
  cancelled: "Cancelled",
};

export const ITEM_STATUS_LABELS: Record<BatchItemStatus, string> = {
  pending: "Pending",
  generating: "Generating",
  completed: "Completed",
  failed: "Failed",
  cancelled: "Cancelled",
};

/** The badge text: a paused or cancelled batch whose last items are still generating is "Pausing…" / "Cancelling…". */
export function batchStatusLabel(status: BatchStatus, inFlightItems: number): string {
  if (inFlightItems > 0 && status === "paused") return "Pausing…";
  if (inFlightItems > 0 && status === "cancelled") return "Cancelling…";
  return BATCH_STATUS_LABELS[status];
}

export function plural(count: number, one: string, many: string): string {
  return `${count} ${count === 1 ? one : many}`;
}

/** "8 of 20 items": the progress bar's aria-valuetext and its visible caption. */
export function progressText(done: number, total: number): string {
  return `${done} of ${total} ${total === 1 ? "item" : "items"}`;
}

function range(low: number, high: number, unit: string): string {
  return low === high ? `about ${low} ${unit} left` : `about ${low}–${high} ${unit} left`;
}

/** The API's ETA range in words: "about 20–40 s left", "about 2–3 min left", "about 1–2 h left". */
export function formatEta(eta: BatchEta): string {
  const { minSeconds, maxSeconds } = eta;
  if (maxSeconds <= 0) return "almost done";
  if (maxSeconds < 60) return range(Math.max(1, Math.round(minSeconds)), Math.max(1, Math.ceil(maxSeconds)), "s");
  if (maxSeconds < 90 * 60) {
    const low = Math.max(1, Math.floor(minSeconds / 60));
    return range(low, Math.max(low, Math.ceil(maxSeconds / 60)), "min");
  }
  const low = Math.max(1, Math.floor(minSeconds / 3600));
  return range(low, Math.max(low, Math.ceil(maxSeconds / 3600)), "h");
}

const timeFormat = new Intl.DateTimeFormat(undefined, { hour: "2-digit", minute: "2-digit", hourCycle: "h23" });
const dateFormat = new Intl.DateTimeFormat(undefined, { day: "numeric", month: "short" });
const dateTimeFormat = new Intl.DateTimeFormat(undefined, { dateStyle: "medium", timeStyle: "short" });

function sameDay(a: Date, b: Date): boolean {
  return a.getFullYear() === b.getFullYear() && a.getMonth() === b.getMonth() && a.getDate() === b.getDate();
}

/** "12:05" today, "28 Nov 12:05" on another day (local time). */
export function formatClock(iso: string, now: Date = new Date()): string {
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return iso;
  return sameDay(date, now) ? timeFormat.format(date) : `${dateFormat.format(date)} ${timeFormat.format(date)}`;
}

export function formatDateTime(iso: string): string {
  const date = new Date(iso);
  return Number.isNaN(date.getTime()) ? iso : dateTimeFormat.format(date);
}

const ACTION_PAST: Record<BatchControlAction, string> = { pause: "Paused", resume: "Resumed", cancel: "Cancelled", retry_failed: "Failed items retried" };

/** "Paused by dr.jones@msm.edu at 12:05"; a system transition says what happened by itself. */
export function describeTransition(
  transition: { action: BatchHistoryAction; actorEmail: string | null; newStatus?: string; createdAt: string },
  now: Date = new Date(),
): string {
  const at = formatClock(transition.createdAt, now);
  if (transition.action === "complete") {
    const ended = transition.newStatus === "failed" ? "Failed" : transition.newStatus === "completed_with_errors" ? "Completed with errors" : "Completed";
    return `${ended} at ${at}: nothing was left to generate after the pause`;
  }
  const who = transition.actorEmail ?? "an unknown user";
  return `${ACTION_PAST[transition.action]} by ${who} at ${at}`;
}
