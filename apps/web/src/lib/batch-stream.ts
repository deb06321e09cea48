import {
  apiErrorSchema,
  batchStreamEventSchema,
  isTerminalStatus,
  type BatchDetail,
  type BatchStreamEvent,
} from "@batchgen/types";
import { z } from "zod";
import { ApiNetworkError, ApiRequestError, defaultApiBaseUrl } from "@/lib/api";
import { createSseParser } from "@/lib/sse-parser";

/**
 * How the page is getting its updates:
 * - `connecting`: first connection attempt;
 * - `live`: the stream is open and has sent its snapshot;
 * - `reconnecting`: the stream dropped, trying again with backoff;
 * - `polling`: the stream failed several times in a row, reading the batch every few seconds
 *   (and still trying the stream, less often);
 * - `ended`: the batch is finished and nothing more will change.
 */
export type BatchStreamConnection = "connecting" | "live" | "reconnecting" | "polling" | "ended";

export interface BatchStreamOptions {
  readonly batchId: string;
  /** Base of every API path, e.g. `http://127.0.0.1:3001/api/v1`. */
  readonly baseUrl?: string;
  readonly getAccessToken: () => Promise<string | null> | string | null;
  readonly fetch?: typeof fetch;
  /** Every stream event; in polling mode each poll is delivered as a `snapshot`. */
  readonly onEvent: (event: BatchStreamEvent) => void;
  readonly onConnectionChange: (connection: BatchStreamConnection) => void;
  /** 403 / 404: the batch is not the caller's, or does not exist. Nothing is retried after this. */
  readonly onFatal: (error: ApiRequestError) => void;
  /** Reads the batch once (GET /generation/batch/:id); used while polling. */
  readonly poll: () => Promise<BatchDetail>;
  readonly initialBackoffMs?: number;
  readonly maxBackoffMs?: number;
  /** Consecutive failed connections after which polling starts. */
  readonly failuresBeforePolling?: number;
  readonly pollIntervalMs?: number;
  /** No bytes (not even a heartbeat, sent every 15 s) for this long means the connection is dead. */
  readonly idleTimeoutMs?: number;
  /** 0..1; tests pass a constant to get exact delays. */
  readonly random?: () => number;
}

export interface BatchStreamHandle {
  readonly close: () => void;
}

const FATAL_STATUSES = new Set([403, 404]);

const errorBodySchema = z.object({ error: apiErrorSchema });

async function readError(response: Response): Promise<ApiRequestError> {
  try {
    const body: unknown = await response.json();
    const parsed = errorBodySchema.safeParse(body);
    if (parsed.success) {
      const { code, message, details } = parsed.data.error;
      return new ApiRequestError({ status: response.status, code, message, details });
    }
  } catch {
    // Not JSON: fall through to a generic error.
  }
  return new ApiRequestError({
    status: response.status,
    code: "INVALID_RESPONSE",
    message: `The live stream answered ${response.status}.`,
  });
}

/**
 * One server-sent event as a stream event, parsed with the schema the server builds them with; null
 * for anything else (not JSON, another shape, a `type` that differs from the SSE event name, an
 * event this version of the page does not know), which the stream then ignores.
 */
export function parseStreamEvent(event: string, data: string): BatchStreamEvent | null {
  let json: unknown;
  try {
    json = JSON.parse(data);
  } catch {
    return null;
  }
  const parsed = batchStreamEventSchema.safeParse(json);
  return parsed.success && parsed.data.type === event ? parsed.data : null;
}

/**
 * Follows one batch: reads GET /generation/batch/:id/stream with `fetch` (so the Bearer token goes
 * along, which EventSource cannot do), reconnects with exponential backoff and jitter when it drops,
 * and after a few failures in a row also polls the batch until the stream comes back.
 */
export function openBatchStream(options: BatchStreamOptions): BatchStreamHandle {
  const {
    batchId,
    onEvent,
    onConnectionChange,
    onFatal,
    poll,
    initialBackoffMs = 1_000,
    maxBackoffMs = 15_000,
    failuresBeforePolling = 3,
    pollIntervalMs = 3_000,
    idleTimeoutMs = 45_000,
    random = Math.random,
  } = options;
  const baseUrl = (options.baseUrl ?? defaultApiBaseUrl()).replace(/\/+$/, "");
  const url = `${baseUrl}/generation/batch/${encodeURIComponent(batchId)}/stream`;

  let closed = false;
  let failures = 0;
  let serverRetryMs: number | null = null;
  // A 429's Retry-After (the API caps live streams per user): wait at least that long next time.
  let retryAfterMs = 0;
  let connection: BatchStreamConnection | null = null;
  let controller: AbortController | null = null;
  let retryTimer: ReturnType<typeof setTimeout> | null = null;
  let idleTimer: ReturnType<typeof setTimeout> | null = null;
  let pollTimer: ReturnType<typeof setTimeout> | null = null;
  let polling = false;

  function setConnection(next: BatchStreamConnection) {
    if (connection === next) return;
    connection = next;
    onConnectionChange(next);
  }

  function stop() {
    closed = true;
    controller?.abort();
    for (const timer of [retryTimer, idleTimer, pollTimer]) if (timer !== null) clearTimeout(timer);
    retryTimer = idleTimer = pollTimer = null;
    polling = false;
  }

  function finish() {
    stop();
    setConnection("ended");
  }

  function fatal(error: ApiRequestError) {
    stop();
    onFatal(error);
  }

  function armIdleTimer(abort: AbortController) {
    if (idleTimer !== null) clearTimeout(idleTimer);
    idleTimer = setTimeout(() => abort.abort(new Error("The live stream went quiet.")), idleTimeoutMs);
  }

  function stopPolling() {
    polling = false;
    if (pollTimer !== null) clearTimeout(pollTimer);
    pollTimer = null;
  }

  function startPolling() {
    if (polling || closed) return;
    polling = true;
    const tick = async () => {
      pollTimer = null;
      if (!polling || closed) return;
      try {
        const batch = await poll();
        if (!polling || closed) return;
        onEvent({ type: "snapshot", batch });
        if (isTerminalStatus(batch.status) && batch.inFlightItems === 0) {
          onEvent({ type: "end", status: batch.status });
          finish();
          return;
        }
      } catch (error) {
        if (error instanceof ApiRequestError && FATAL_STATUSES.has(error.status)) {
          fatal(error);
          return;
        }
        // Unreachable or failing API: keep polling; the indicator already says we are not live.
      }
      if (polling && !closed) pollTimer = setTimeout(() => void tick(), pollIntervalMs);
    };
    void tick();
  }

  function scheduleReconnect() {
    if (closed) return;
    failures += 1;
    if (failures >= failuresBeforePolling) {
      setConnection("polling");
      startPolling();
    } else {
      setConnection("reconnecting");
    }
    const base = Math.max(initialBackoffMs, serverRetryMs ?? 0);
    const backoff = Math.min(maxBackoffMs, base * 2 ** (failures - 1)) * (0.8 + 0.4 * random());
    const delay = Math.max(backoff, retryAfterMs);
    retryAfterMs = 0;
    retryTimer = setTimeout(() => {
      retryTimer = null;
      void connect();
    }, delay);
  }

  async function connect(): Promise<void> {
    if (closed) return;
    const abort = new AbortController();
    controller = abort;
    try {
      const token = await options.getAccessToken();
      if (closed) return;
      const headers: Record<string, string> = { Accept: "text/event-stream" };
      if (token) headers.Authorization = `Bearer ${token}`;
      const doFetch = options.fetch ?? globalThis.fetch;
      let response: Response;
      try {
        response = await doFetch(url, { headers, signal: abort.signal, cache: "no-store" });
      } catch (error) {
        throw new ApiNetworkError(url, error);
      }
      if (!response.ok) {
        const retryAfter = Number(response.headers.get("Retry-After"));
        if (response.status === 429 && Number.isFinite(retryAfter) && retryAfter > 0) retryAfterMs = retryAfter * 1000;
        const error = await readError(response);
        if (FATAL_STATUSES.has(response.status)) {
          fatal(error);
          return;
        }
        throw error;
      }
      if (!response.body) throw new Error("The live stream has no body.");

      let ended = false;
      const parser = createSseParser({
        onRetry: (ms) => {
          serverRetryMs = ms;
        },
        onEvent: ({ event, data }) => {
          if (closed) return;
          const parsed = parseStreamEvent(event, data);
          if (!parsed) return;
          if (parsed.type === "snapshot") {
            failures = 0;
            stopPolling();
            setConnection("live");
          }
          onEvent(parsed);
          if (parsed.type === "end") ended = true;
        },
      });
      const reader = response.body.getReader();
      const decoder = new TextDecoder();
      armIdleTimer(abort);
      for (;;) {
        const { done, value } = await reader.read();
        if (closed) return;
        if (done) break;
        armIdleTimer(abort);
        parser.push(decoder.decode(value, { stream: true }));
        if (ended) {
          void reader.cancel().catch(() => undefined);
          finish();
          return;
        }
      }
      parser.push(decoder.decode());
      if (ended) {
        finish();
        return;
      }
      throw new Error("The live stream closed before the batch finished.");
    } catch {
      if (closed) return;
      if (idleTimer !== null) clearTimeout(idleTimer);
      idleTimer = null;
      abort.abort();
      scheduleReconnect();
    }
  }

  setConnection("connecting");
  void connect();
  return { close: stop };
}
