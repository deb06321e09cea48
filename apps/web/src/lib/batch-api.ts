import {
  batchControlResponseSchema,
  batchDetailSchema,
  batchHistorySchema,
  batchItemListSchema,
  batchListSchema,
  type BatchControlAction,
  type BatchDetail,
  type BatchItem,
  type BatchSummary,
  type CreateBatchRequest,
} from "@batchgen/types";
import type { z } from "zod";
import type { ApiClient } from "@/lib/api";

export type BatchStatusTransition = z.infer<typeof batchHistorySchema>["items"][number];
export type BatchControlResult = z.infer<typeof batchControlResponseSchema>;

export interface Page<T> {
  readonly items: T[];
  readonly nextCursor: string | null;
}

const base = (batchId: string) => `/generation/batch/${encodeURIComponent(batchId)}`;

export function fetchBatchPage(api: ApiClient, options: { limit?: number; cursor?: string | null } = {}): Promise<Page<BatchSummary>> {
  return api.get("/generation/batch", {
    query: { limit: options.limit, cursor: options.cursor ?? undefined },
    schema: batchListSchema,
  });
}

export function fetchBatchDetail(api: ApiClient, batchId: string, signal?: AbortSignal): Promise<BatchDetail> {
  return api.get(base(batchId), { schema: batchDetailSchema, signal });
}

export function createBatch(api: ApiClient, body: CreateBatchRequest): Promise<BatchDetail> {
  return api.post("/generation/batch", body, { schema: batchDetailSchema });
}

export function fetchBatchItemPage(
  api: ApiClient,
  batchId: string,
  options: { limit?: number; cursor?: string | null } = {},
): Promise<Page<BatchItem>> {
  return api.get(`${base(batchId)}/items`, {
    query: { limit: options.limit, cursor: options.cursor ?? undefined },
    schema: batchItemListSchema,
  });
}

/** The first `count` items by position (pages of at most 200, the API's limit). */
export async function fetchFirstBatchItems(
  api: ApiClient,
  batchId: string,
  count: number,
): Promise<{ items: BatchItem[]; hasMore: boolean }> {
  const items: BatchItem[] = [];
  let cursor: string | null = null;
  do {
    const page: Page<BatchItem> = await fetchBatchItemPage(api, batchId, {
      limit: Math.min(200, count - items.length),
      cursor,
    });
    items.push(...page.items);
    cursor = page.nextCursor;
  } while (cursor !== null && items.length < count);
  return { items, hasMore: cursor !== null };
}

export async function fetchBatchHistory(api: ApiClient, batchId: string): Promise<BatchStatusTransition[]> {
  return (await api.get(`${base(batchId)}/history`, { schema: batchHistorySchema })).items;
}

/** The control's path segment: the action's name, except retry_failed, which is `retry-failed`. */
const CONTROL_PATH: Record<BatchControlAction, string> = { pause: "pause", resume: "resume", cancel: "cancel", retry_failed: "retry-failed" };

/** POST pause / resume / cancel / retry-failed. The key makes a retry of the same intent safe (the API answers it with the first response). */
export function sendBatchControl(
  api: ApiClient,
  batchId: string,
  action: BatchControlAction,
  idempotencyKey: string,
): Promise<BatchControlResult> {
  return api.post(`${base(batchId)}/${CONTROL_PATH[action]}`, {}, { idempotencyKey, schema: batchControlResponseSchema });
}

/** A fresh Idempotency-Key (crypto.randomUUID where available; 127.0.0.1 and https are secure contexts). */
export function newIdempotencyKey(): string {
  if (typeof crypto !== "undefined" && typeof crypto.randomUUID === "function") return crypto.randomUUID();
  const bytes = new Uint8Array(16);
  crypto.getRandomValues(bytes);
  return Array.from(bytes, (byte) => byte.toString(16).padStart(2, "0")).join("");
}

export type QuestionFileFormat = "csv" | "json";

/**
 * GET …/questions?format=csv|json: every completed question, as a file. The name is the API's
 * (`batch-<id>-questions.csv`); the API does not expose Content-Disposition to other origins, so
 * the same name is built here when the header cannot be read.
 */
export async function downloadBatchQuestions(
  api: ApiClient,
  batchId: string,
  format: QuestionFileFormat,
  signal?: AbortSignal,
): Promise<{ readonly blob: Blob; readonly filename: string }> {
  const file = await api.download(`${base(batchId)}/questions`, { query: { format }, signal });
  return { blob: file.blob, filename: file.filename ?? `batch-${batchId}-questions.${format}` };
}
