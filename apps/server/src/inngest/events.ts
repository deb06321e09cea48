import { BATCH_EVENT_NAMES, batchControlEventDataSchema, batchStartedDataSchema } from "@batchgen/types";
import { eventType } from "inngest";

/**
 * The pipeline's events as Inngest triggers, with the payload schemas from `packages/types` (the
 * same ones the senders build their events with), so a function only ever sees a valid payload.
 */
export const batchStarted = eventType(BATCH_EVENT_NAMES.started, { schema: batchStartedDataSchema });
export const batchPause = eventType(BATCH_EVENT_NAMES.pause, { schema: batchControlEventDataSchema });
export const batchResume = eventType(BATCH_EVENT_NAMES.resume, { schema: batchControlEventDataSchema });
export const batchCancel = eventType(BATCH_EVENT_NAMES.cancel, { schema: batchControlEventDataSchema });
