import { eventType, staticSchema } from "inngest";

/**
 * Every event the batch pipeline sends or waits for. The API emits the first
 * four; the functions emit the rest. Ids are set by the sender where a retry
 * must not start a second run (Inngest deduplicates event ids for 24 h).
 */
/** Starts (or continues) the batch's orchestrator chain `epoch`; see docs/decisions/one-orchestrator-per-batch.md. */
export const batchStarted = eventType("batch.started", {
  schema: staticSchema<{ batchId: string; epoch?: number; continuation?: number }>(),
});

export interface BatchControlEventData extends Record<string, unknown> {
  batchId: string;
  actorId: string;
  previousStatus: string;
  newStatus: string;
  requestId: string | null;
  controlEventId: string;
}

export const batchPause = eventType("batch.pause", { schema: staticSchema<BatchControlEventData>() });
export const batchResume = eventType("batch.resume", { schema: staticSchema<BatchControlEventData>() });
export const batchCancel = eventType("batch.cancel", { schema: staticSchema<BatchControlEventData>() });

export const batchFinished = eventType("batch.finished", {
  schema: staticSchema<{ batchId: string; status: string }>(),
});
