import type { BatchDetail, BatchItem, BatchStreamEvent } from "@batchgen/types";
import { vi } from "vitest";
import { createApiClient } from "@/lib/api";

export const API_BASE = "http://api.test/api/v1";
export const BATCH_ID = "0b8c3a8e-3f7a-4d55-9c1e-6f5a1c2b9d01";

/** The story's fixture: 20 items, 8 completed, 2 generating, 10 pending. */
export function makeBatch(overrides: Partial<BatchDetail> = {}): BatchDetail {
  return {
    id: BATCH_ID,
    status: "running",
    config: {
      topic: "Cardiac physiology",
      questionType: "single_best_answer",
      difficulty: "medium",
      count: 20,
      concurrency: 5,
      generator: "simulated",
    },
    totalItems: 20,
    completedItems: 8,
    failedItems: 0,
    cancelledItems: 0,
    inFlightItems: 2,
    pendingItems: 10,
    createdAt: "2026-11-30T12:00:00.000Z",
    startedAt: "2026-11-30T12:00:00.000Z",
    pausedAt: null,
    cancelledAt: null,
    finishedAt: null,
    updatedAt: "2026-11-30T12:03:00.000Z",
    allowedActions: ["pause", "cancel"],
    eta: { minSeconds: 120, maxSeconds: 170 },
    ...overrides,
  };
}

export function makeItem(position: number, overrides: Partial<BatchItem> = {}): BatchItem {
  const completed = (overrides.status ?? "completed") === "completed";
  return {
    id: `00000000-0000-4000-8000-${String(position).padStart(12, "0")}`,
    batchId: BATCH_ID,
    position,
    status: "completed",
    attempts: 1,
    result: completed
      ? {
          stem: `Stem of question ${position + 1}: which structure sets the heart rate?`,
          options: [
            { label: "A", text: "Sinoatrial node" },
            { label: "B", text: "Atrioventricular node" },
            { label: "C", text: "Bundle of His" },
            { label: "D", text: "Purkinje fibres" },
            { label: "E", text: "Left ventricle" },
          ],
          answer: "A",
          explanation: "The SA node depolarises fastest and sets the rhythm.",
        }
      : null,
    error: null,
    startedAt: null,
    finishedAt: null,
    ...overrides,
  };
}

export function json(status: number, body: unknown): Response {
  return new Response(JSON.stringify(body), { status, headers: { "content-type": "application/json" } });
}

export const ok = (data: unknown, status = 200) => json(status, { data, error: null });
export const fail = (status: number, code: string, message: string, details?: Record<string, unknown>) =>
  json(status, { data: null, error: { code, message, ...(details ? { details } : {}) } });

/** A server-sent-events body the test writes to. */
export function createFakeStream() {
  const encoder = new TextEncoder();
  let controller: ReadableStreamDefaultController<Uint8Array> | null = null;
  const body = new ReadableStream<Uint8Array>({
    start(c) {
      controller = c;
    },
  });
  return {
    response: () => new Response(body, { status: 200, headers: { "content-type": "text/event-stream" } }),
    write(text: string) {
      controller?.enqueue(encoder.encode(text));
    },
    send(event: BatchStreamEvent) {
      controller?.enqueue(encoder.encode(`event: ${event.type}\ndata: ${JSON.stringify(event)}\n\n`));
    },
    close() {
      controller?.close();
    },
    error(reason: unknown = new TypeError("network error")) {
      controller?.error(reason);
    },
  };
}

export interface RecordedRequest {
  readonly method: string;
  readonly url: URL;
  readonly headers: Headers;
  readonly body: unknown;
}

type Handler = (request: RecordedRequest) => Response | Promise<Response>;

/** A fetch that answers by "METHOD /path" (path after /api/v1) and records every request. */
export function createFakeFetch(routes: Record<string, Handler>) {
  const requests: RecordedRequest[] = [];
  const fetchImpl = vi.fn(async (input: RequestInfo | URL, init?: RequestInit) => {
    const url = new URL(typeof input === "string" ? input : input instanceof URL ? input.href : input.url);
    const method = (init?.method ?? "GET").toUpperCase();
    const headers = new Headers(init?.headers);
    const body = typeof init?.body === "string" ? (JSON.parse(init.body) as unknown) : undefined;
    const request = { method, url, headers, body };
    requests.push(request);
    const path = url.pathname.replace(/^\/api\/v1/, "");
    const handler = routes[`${method} ${path}`];
    if (!handler) return fail(404, "NOT_FOUND", `no fake route for ${method} ${path}`);
    return handler(request);
  });
  return { fetch: fetchImpl as unknown as typeof fetch & typeof fetchImpl, requests };
}

export function fakeApiClient(fetchImpl: typeof fetch) {
  return createApiClient({ baseUrl: API_BASE, getAccessToken: () => "access-token-1", fetch: fetchImpl });
}
