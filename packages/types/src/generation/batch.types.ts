import { z } from "zod";
import { TERMINAL_STATES, VALID_STATUS_TRANSITIONS, type BatchControlAction } from "./batch-control.types.ts";

export const BATCH_STATUSES = [
  "running",
  "paused",
  "completed",
  "completed_with_errors",
  "failed",
  "cancelled",
] as const;
export type BatchStatus = (typeof BATCH_STATUSES)[number];
export const batchStatusSchema = z.enum(BATCH_STATUSES);

export type TerminalBatchStatus = (typeof TERMINAL_STATES)[number];

export const BATCH_ITEM_STATUSES = ["pending", "generating", "completed", "failed", "cancelled"] as const;
export type BatchItemStatus = (typeof BATCH_ITEM_STATUSES)[number];
export const batchItemStatusSchema = z.enum(BATCH_ITEM_STATUSES);

export const batchControlActionSchema = z.enum(["pause", "resume", "cancel", "retry_failed"]);

export const QUESTION_TYPES = ["single_best_answer", "clinical_vignette"] as const;
export type QuestionType = (typeof QUESTION_TYPES)[number];
export const QUESTION_TYPE_LABELS: Record<QuestionType, string> = {
  single_best_answer: "Single best answer",
  clinical_vignette: "Clinical vignette",
};

export const DIFFICULTIES = ["easy", "medium", "hard"] as const;
export type Difficulty = (typeof DIFFICULTIES)[number];

export const GENERATORS = ["simulated", "openai"] as const;
export type GeneratorName = (typeof GENERATORS)[number];

export const BATCH_LIMITS = {
  topicMaxLength: 200,
  minCount: 1,
  maxCount: 10_000,
  minConcurrency: 1,
  maxConcurrency: 20,
  defaultConcurrency: 5,
  reasonMaxLength: 500,
} as const;

export function isTerminalStatus(status: string): status is TerminalBatchStatus {
  return (TERMINAL_STATES as readonly string[]).includes(status);
}

/** The actions the story allows from a status (none for terminal states). */
export function allowedActionsFor(status: string): readonly BatchControlAction[] {
  return VALID_STATUS_TRANSITIONS[status] ?? [];
}

/** The status an action leads to. */
export const ACTION_TARGET_STATUS: Record<BatchControlAction, BatchStatus> = {
  pause: "paused",
  resume: "running",
  cancel: "cancelled",
  retry_failed: "running",
};

// A lone UTF-16 surrogate cannot be stored as UTF-8: PostgreSQL would get U+FFFD instead of the text sent.
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;
const TAB = 0x09;
const LINE_FEED = 0x0a;
const CARRIAGE_RETURN = 0x0d;

/**
 * True when a string is text PostgreSQL stores exactly as sent: no NUL (text cannot hold it), no
 * other C0 control character or DEL (tab and line breaks only when `allowLineBreaks`), no lone surrogate.
 */
export function isStorableText(value: string, allowLineBreaks = false): boolean {
  for (let index = 0; index < value.length; index += 1) {
    const code = value.charCodeAt(index);
    if (code >= 0x20 && code !== 0x7f) continue;
    if (allowLineBreaks && (code === TAB || code === LINE_FEED || code === CARRIAGE_RETURN)) continue;
    return false;
  }
  return !LONE_SURROGATE.test(value);
}

const LONE_SURROGATES = new RegExp(LONE_SURROGATE.source, "g");

/**
 * Text as PostgreSQL can store it: NUL (which neither text nor jsonb can hold) and lone surrogates
 * (which UTF-8 cannot encode) become U+FFFD. For text the server did not choose, such as a model's
 * answer or a provider's error message, which must be stored rather than refused.
 */
export function toStorableText(value: string): string {
  return value.replaceAll("\u0000", "\uFFFD").replace(LONE_SURROGATES, "\uFFFD");
}

/** POST /api/v1/generation/batch body. */
export const createBatchRequestSchema = z
  .object({
    topic: z
      .string({ error: "topic is required" })
      .trim()
      .min(1, "topic must not be empty")
      .max(BATCH_LIMITS.topicMaxLength, `topic must be at most ${BATCH_LIMITS.topicMaxLength} characters`)
      .refine((topic) => isStorableText(topic), "topic must be plain text on one line (no control characters or broken Unicode)"),
    questionType: z.enum(QUESTION_TYPES, {
      error: `questionType must be one of ${QUESTION_TYPES.join(", ")}`,
    }),
    difficulty: z.enum(DIFFICULTIES, { error: `difficulty must be one of ${DIFFICULTIES.join(", ")}` }),
    count: z
      .number({ error: "count must be a whole number" })
      .int("count must be a whole number")
      .min(BATCH_LIMITS.minCount, `count must be at least ${BATCH_LIMITS.minCount}`)
      .max(BATCH_LIMITS.maxCount, `count must be at most ${BATCH_LIMITS.maxCount}`),
    concurrency: z
      .number({ error: "concurrency must be a whole number" })
      .int("concurrency must be a whole number")
      .min(BATCH_LIMITS.minConcurrency, `concurrency must be at least ${BATCH_LIMITS.minConcurrency}`)
      .max(BATCH_LIMITS.maxConcurrency, `concurrency must be at most ${BATCH_LIMITS.maxConcurrency}`)
      .default(BATCH_LIMITS.defaultConcurrency),
    generator: z.enum(GENERATORS, { error: `generator must be one of ${GENERATORS.join(", ")}` }).default("simulated"),
  })
  .strict();
export type CreateBatchRequest = z.input<typeof createBatchRequestSchema>;
export type BatchConfig = z.output<typeof createBatchRequestSchema>;

/**
 * Optional body of the four control POSTs. `action` is the story's `BatchControlRequest`: when
 * sent it must name the action of the path (the server answers 400 otherwise), so
 * `"retry_failed"` is accepted on `/retry-failed` only.
 */
export const batchControlBodySchema = z
  .object({
    action: z
      .enum(batchControlActionSchema.options, { error: `action must be one of ${batchControlActionSchema.options.join(", ")}` })
      .optional(),
    reason: z
      .string({ error: "reason must be a string" })
      .max(BATCH_LIMITS.reasonMaxLength, `reason must be at most ${BATCH_LIMITS.reasonMaxLength} characters`)
      .refine((reason) => isStorableText(reason, true), "reason must be plain text (no control characters or broken Unicode)")
      .optional(),
  })
  .strict();
export type BatchControlBody = z.infer<typeof batchControlBodySchema>;

export const batchControlResponseSchema = z.object({
  batchId: z.string(),
  previousStatus: z.string(),
  newStatus: z.string(),
  action: batchControlActionSchema,
  timestamp: z.string(),
});

export const etaSchema = z.object({
  /** Seconds, lower and upper bound, from the observed completion rate. */
  minSeconds: z.number().nonnegative(),
  maxSeconds: z.number().nonnegative(),
});
export type BatchEta = z.infer<typeof etaSchema>;

export const batchSummarySchema = z.object({
  id: z.string().uuid(),
  status: batchStatusSchema,
  config: z.object({
    topic: z.string(),
    questionType: z.enum(QUESTION_TYPES),
    difficulty: z.enum(DIFFICULTIES),
    count: z.number().int(),
    concurrency: z.number().int(),
    generator: z.enum(GENERATORS),
  }),
  totalItems: z.number().int(),
  completedItems: z.number().int(),
  failedItems: z.number().int(),
  cancelledItems: z.number().int(),
  inFlightItems: z.number().int(),
  pendingItems: z.number().int(),
  createdAt: z.string(),
  startedAt: z.string().nullable(),
  pausedAt: z.string().nullable(),
  cancelledAt: z.string().nullable(),
  finishedAt: z.string().nullable(),
  updatedAt: z.string(),
});
export type BatchSummary = z.infer<typeof batchSummarySchema>;

export const batchDetailSchema = batchSummarySchema.extend({
  allowedActions: z.array(batchControlActionSchema),
  eta: etaSchema.nullable(),
});
export type BatchDetail = z.infer<typeof batchDetailSchema>;

export const QUESTION_OPTION_LABELS = ["A", "B", "C", "D", "E"] as const;
export type QuestionOptionLabel = (typeof QUESTION_OPTION_LABELS)[number];

/** A generated exam question: a stem, five options, the answer and why. */
export const generatedQuestionSchema = z.object({
  stem: z.string().min(1),
  options: z
    .array(z.object({ label: z.enum(QUESTION_OPTION_LABELS), text: z.string().min(1) }))
    .length(5),
  answer: z.enum(QUESTION_OPTION_LABELS),
  explanation: z.string().min(1),
});
export type GeneratedQuestion = z.infer<typeof generatedQuestionSchema>;

export const batchItemSchema = z.object({
  id: z.string().uuid(),
  batchId: z.string().uuid(),
  position: z.number().int(),
  status: batchItemStatusSchema,
  attempts: z.number().int(),
  result: generatedQuestionSchema.nullable(),
  error: z.string().nullable(),
  startedAt: z.string().nullable(),
  finishedAt: z.string().nullable(),
});
export type BatchItem = z.infer<typeof batchItemSchema>;

export const batchStatusTransitionSchema = z.object({
  id: z.string().uuid(),
  batchId: z.string().uuid(),
  action: z.enum(["pause", "resume", "cancel", "retry_failed", "complete"]),
  previousStatus: z.string(),
  newStatus: z.string(),
  actorId: z.string().uuid().nullable(),
  actorEmail: z.string().nullable(),
  reason: z.string().nullable(),
  requestId: z.string().nullable(),
  createdAt: z.string(),
});

/** ?limit=&cursor= on list endpoints; the cursor is opaque to clients. */
export const paginationQuerySchema = z.object({
  limit: z.coerce
    .number({ error: "limit must be a whole number" })
    .int("limit must be a whole number")
    .min(1, "limit must be at least 1")
    .max(200, "limit must be at most 200")
    .default(20),
  cursor: z.string().max(200, "cursor is malformed").optional(),
})
  // An unknown parameter (a typo, or `status[]=` from a client that sends arrays) is refused, not
  // ignored: ignoring it would answer a filter nobody asked for as if it had been applied.
  .strict();
export type PaginationQuery = z.infer<typeof paginationQuerySchema>;

export function pageSchema<T extends z.ZodType>(item: T) {
  return z.object({ items: z.array(item), nextCursor: z.string().nullable() });
}

export const batchListSchema = pageSchema(batchSummarySchema);
export const batchItemListSchema = pageSchema(batchItemSchema);
export const batchHistorySchema = z.object({ items: z.array(batchStatusTransitionSchema) });

/** GET /generation/batch/:batchId/questions?format=json|csv — the completed questions as a download. */
export const questionExportQuerySchema = z.object({
  format: z.enum(["json", "csv"], { error: 'format must be "json" or "csv"' }).default("json"),
}).strict();

/** The live part of a batch: what changes while it runs. */
export const batchProgressSchema = batchDetailSchema.pick({
  id: true,
  status: true,
  totalItems: true,
  completedItems: true,
  failedItems: true,
  cancelledItems: true,
  inFlightItems: true,
  pendingItems: true,
  allowedActions: true,
  eta: true,
  updatedAt: true,
});
export type BatchProgress = z.infer<typeof batchProgressSchema>;

/** The part of an item a live page needs when its status changes. */
export const batchItemChangeSchema = batchItemSchema.pick({ id: true, position: true, status: true });
export type BatchItemChange = z.infer<typeof batchItemChangeSchema>;

/**
 * Server-sent events on GET /generation/batch/:batchId/stream, each sent as
 * `event: <type>` with the JSON below as data: a snapshot on connect, then
 * one `progress` per change of status or counters and one `item` per item
 * status change, in commit order; `end` once the batch is terminal. The
 * server builds them with this schema's types and the web app parses them
 * with it.
 */
export const batchStreamEventSchema = z.discriminatedUnion("type", [
  z.object({ type: z.literal("snapshot"), batch: batchDetailSchema }),
  z.object({ type: z.literal("progress"), batch: batchProgressSchema }),
  z.object({ type: z.literal("item"), item: batchItemChangeSchema }),
  z.object({ type: z.literal("end"), status: batchStatusSchema }),
]);
export type BatchStreamEvent = z.infer<typeof batchStreamEventSchema>;

/**
 * What the database announces on the `batch_progress` channel after each commit (the
 * `notify_batch_progress` trigger in supabase/migrations): a batch's status and counters, or one
 * item's status. Ids and numbers only, far below NOTIFY's 8,000-byte limit.
 */
export const batchProgressNotificationSchema = z.object({
  kind: z.literal("batch"),
  batchId: z.string().uuid(),
  status: batchStatusSchema,
  totalItems: z.number().int(),
  completedItems: z.number().int(),
  failedItems: z.number().int(),
  cancelledItems: z.number().int(),
  generatingItems: z.number().int(),
  updatedAt: z.string(),
  /** Bumped by every visible change, in commit order (absent only from a server older than the column). */
  version: z.number().int().min(0).optional(),
});
export type BatchProgressNotification = z.infer<typeof batchProgressNotificationSchema>;

export const itemNotificationSchema = z.object({
  kind: z.literal("item"),
  batchId: z.string().uuid(),
  itemId: z.string().uuid(),
  position: z.number().int(),
  status: batchItemStatusSchema,
  updatedAt: z.string(),
});
export type ItemNotification = z.infer<typeof itemNotificationSchema>;

export const batchNotificationSchema = z.discriminatedUnion("kind", [batchProgressNotificationSchema, itemNotificationSchema]);
export type BatchChangeNotification = z.infer<typeof batchNotificationSchema>;

/**
 * The remaining time as a range, from the rate at which the last items
 * finished. Null until there are enough finishes to say anything honest.
 */
export function estimateEta(remainingItems: number, finishTimesMs: readonly number[], nowMs: number): BatchEta | null {
  if (remainingItems <= 0) return { minSeconds: 0, maxSeconds: 0 };
  const times = [...finishTimesMs].sort((a, b) => a - b);
  if (times.length < 3) return null;
  const first = times[0]!;
  const last = times[times.length - 1]!;
  // Include the time since the last finish, so a stall lengthens the estimate instead of freezing it.
  const span = Math.max(last, Math.min(nowMs, last + 60_000)) - first;
  if (span <= 0) return null;
  const perSecond = ((times.length - 1) / span) * 1000;
  const central = remainingItems / perSecond;
  return { minSeconds: Math.max(1, Math.floor(central * 0.8)), maxSeconds: Math.max(1, Math.ceil(central * 1.25)) };
}
