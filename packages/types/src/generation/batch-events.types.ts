import { z } from "zod";
import { batchStatusSchema } from "./batch.types.ts";

// The Inngest events of the batch pipeline, defined once: the API and the functions send them
// with these payloads, and the functions' triggers validate them with the same schemas.

/** Starts (or continues) the batch's orchestrator chain `epoch` (docs/decisions/one-orchestrator-per-batch.md). */
export const batchStartedDataSchema = z.object({
  batchId: z.string().uuid(),
  /** Absent only on events sent before epochs existed: epoch 0. */
  epoch: z.number().int().min(0).optional(),
  /** Continue-as-new: the n-th run of the same chain. */
  continuation: z.number().int().min(1).optional(),
});
export type BatchStartedData = z.infer<typeof batchStartedDataSchema>;

/** `batch.pause`, `batch.resume`, `batch.cancel`: sent after the control's transaction committed. */
export const batchControlEventDataSchema = z.object({
  batchId: z.string().uuid(),
  actorId: z.string().uuid(),
  previousStatus: batchStatusSchema,
  newStatus: batchStatusSchema,
  requestId: z.string().nullable(),
  controlEventId: z.string().uuid(),
});
export type BatchControlEventData = z.infer<typeof batchControlEventDataSchema>;

/** The batch ended (completed, completed_with_errors, failed or cancelled); written by its close-out. */
export const batchFinishedDataSchema = z.object({ batchId: z.string().uuid(), status: batchStatusSchema });
export type BatchFinishedData = z.infer<typeof batchFinishedDataSchema>;

export const BATCH_EVENT_NAMES = {
  started: "batch.started",
  pause: "batch.pause",
  resume: "batch.resume",
  cancel: "batch.cancel",
  finished: "batch.finished",
} as const;

/** An event as the outbox stores and sends it: a deterministic id makes redelivery harmless. */
export type BatchEvent =
  | { readonly id: string; readonly name: typeof BATCH_EVENT_NAMES.started; readonly data: BatchStartedData }
  | { readonly id: string; readonly name: "batch.pause" | "batch.resume" | "batch.cancel"; readonly data: BatchControlEventData }
  | { readonly id: string; readonly name: typeof BATCH_EVENT_NAMES.finished; readonly data: BatchFinishedData };

/** The event that starts (or continues) an orchestrator chain; its id is the chain's and the continuation's. */
export function batchStartedEvent(batchId: string, epoch: number, continuation = 0): BatchEvent {
  return {
    id: continuation > 0 ? `batch-started-${batchId}-e${epoch}-c${continuation}` : `batch-started-${batchId}-e${epoch}`,
    name: BATCH_EVENT_NAMES.started,
    data: continuation > 0 ? { batchId, epoch, continuation } : { batchId, epoch },
  };
}

/**
 * Announces the end of a batch, once per orchestrator chain: a repeat for the same end is
 * deduplicated, and a batch that ends again after a retry of its failed items (a new chain) is
 * announced again.
 */
export function batchFinishedEvent(data: BatchFinishedData, epoch: number): BatchEvent {
  return { id: `batch-finished-${data.batchId}-e${epoch}`, name: BATCH_EVENT_NAMES.finished, data };
}

const CONTROL_EVENT_NAMES = { pause: "batch.pause", resume: "batch.resume", cancel: "batch.cancel" } as const;

/** The event of a committed control action; the audit row's id makes it unique. */
export function batchControlEvent(action: keyof typeof CONTROL_EVENT_NAMES, data: BatchControlEventData): BatchEvent {
  return { id: `batch-control-${data.controlEventId}`, name: CONTROL_EVENT_NAMES[action], data };
}
