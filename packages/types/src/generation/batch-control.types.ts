// The contract of the user story F-47 (pause, resume, cancel), kept exactly as written; what each
// type is for is in docs/architecture.md ("How pause, resume and cancel work").

/** Batch control actions (`retry_failed` added by issue 13: failed items back to pending) */
export type BatchControlAction = "pause" | "resume" | "cancel" | "retry_failed";

/** Batch control request */
export interface BatchControlRequest {
  readonly action: BatchControlAction;
}

/** Batch control response */
export interface BatchControlResponse {
  readonly batchId: string;
  readonly previousStatus: string;
  readonly newStatus: string;
  readonly action: BatchControlAction;
  readonly timestamp: string;
}

/** Valid status transitions */
export const VALID_STATUS_TRANSITIONS: Record<string, readonly BatchControlAction[]> = {
  running: ["pause", "cancel"],
  paused: ["resume", "cancel"],
  completed_with_errors: ["retry_failed"],
  failed: ["retry_failed"],
} as const;

/** Terminal states (no controls available) */
export const TERMINAL_STATES = ["completed", "completed_with_errors", "failed", "cancelled"] as const;

/** Batch control button config */
export interface BatchControlButtonConfig {
  readonly action: BatchControlAction;
  readonly label: string;
  readonly icon: string; // Lucide icon name
  readonly variant: "default" | "destructive" | "outline";
  readonly requiresConfirmation: boolean;
}

/** Default control button configs */
export const CONTROL_BUTTONS: readonly BatchControlButtonConfig[] = [
  { action: "pause", label: "Pause", icon: "Pause", variant: "outline", requiresConfirmation: false },
  { action: "resume", label: "Resume", icon: "Play", variant: "default", requiresConfirmation: false },
  { action: "cancel", label: "Cancel", icon: "XCircle", variant: "destructive", requiresConfirmation: true },
] as const;

/**
 * What a history row records: a control action, or `complete` — the system
 * ending a paused batch whose last items in flight finished with nothing left
 * to do (no actor).
 */
export type BatchHistoryAction = BatchControlAction | "complete";

/**
 * One row of the control audit (`batch_control_events`): who moved the batch
 * from which status to which, and why. The story names this type without
 * spelling it out; it is the history the progress page shows.
 */
export interface BatchStatusTransition {
  readonly id: string;
  readonly batchId: string;
  readonly action: BatchHistoryAction;
  readonly previousStatus: string;
  readonly newStatus: string;
  /** Null for a system transition. */
  readonly actorId: string | null;
  readonly actorEmail: string | null;
  readonly reason: string | null;
  readonly requestId: string | null;
  readonly createdAt: string;
}
