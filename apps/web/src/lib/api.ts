import { apiErrorSchema, type ApiEnvelope, type ApiError, type ErrorCode } from "@batchgen/types";
import type { z } from "zod";
import { readPublicConfig } from "@/lib/config";

/** The API's error codes, plus one for an answer that is not the `{ data, error }` envelope at all. */
export type ApiRequestErrorCode = ErrorCode | "INVALID_RESPONSE";

/** The API answered, with an error (or with something that is not our envelope). */
export class ApiRequestError extends Error {
  override readonly name = "ApiRequestError";
  readonly status: number;
  readonly code: ApiRequestErrorCode;
  readonly details: Readonly<Record<string, unknown>> | undefined;

  constructor(init: {
    status: number;
    code: ApiRequestErrorCode;
    message: string;
    details?: Readonly<Record<string, unknown>> | undefined;
  }) {
    super(init.message);
    this.status = init.status;
    this.code = init.code;
    this.details = init.details;
  }
}

/** The API could not be reached at all (server down, offline, CORS refused): nothing was answered. */
export class ApiNetworkError extends Error {
  override readonly name = "ApiNetworkError";
  readonly url: string;

  constructor(url: string, cause: unknown) {
    super(`Cannot reach the API at ${new URL(url).origin}. Check your connection and that the API is running.`, {
      cause,
    });
    this.url = url;
  }
}

export function isApiRequestError(error: unknown, code?: ApiRequestErrorCode): error is ApiRequestError {
  return error instanceof ApiRequestError && (code === undefined || error.code === code);
}

export type HttpMethod = "GET" | "POST" | "PUT" | "PATCH" | "DELETE";

export interface ApiRequestOptions<T> {
  readonly method?: HttpMethod;
  /** Sent as JSON. */
  readonly body?: unknown;
  readonly query?: Readonly<Record<string, string | number | boolean | undefined>>;
  readonly headers?: Readonly<Record<string, string>>;
  /** Sent as `Idempotency-Key`; the API answers a retry with the same key with the first response. */
  readonly idempotencyKey?: string;
  readonly signal?: AbortSignal;
  /** Validates `data`; a mismatch is an `ApiRequestError` with code `INVALID_RESPONSE`. */
  readonly schema?: z.ZodType<T>;
}

export interface ApiClientOptions {
  /** Base of every path, e.g. `http://127.0.0.1:3001/api/v1`. */
  readonly baseUrl?: string;
  /** The current Supabase access token, or null when signed out (the request then goes without one). */
  readonly getAccessToken: () => Promise<string | null> | string | null;
  readonly fetch?: typeof fetch;
}

/** A file the API sent (e.g. the questions as CSV), read whole. */
export interface ApiDownload {
  readonly blob: Blob;
  /** From `Content-Disposition` when the browser may read it (CORS), else null. */
  readonly filename: string | null;
}

export interface ApiClient {
  readonly request: <T>(path: string, options?: ApiRequestOptions<T>) => Promise<T>;
  /**
   * GETs a file with the Bearer token (a plain link cannot send it). Errors are the same as for
   * `request`; a body cut off mid-way is an `ApiNetworkError`, never a short file.
   */
  readonly download: (path: string, options?: Pick<ApiRequestOptions<unknown>, "query" | "signal">) => Promise<ApiDownload>;
  readonly get: <T>(path: string, options?: Omit<ApiRequestOptions<T>, "method" | "body">) => Promise<T>;
  readonly post: <T>(path: string, body?: unknown, options?: Omit<ApiRequestOptions<T>, "method" | "body">) => Promise<T>;
}

export function defaultApiBaseUrl(): string {
  return `${readPublicConfig().apiUrl}/api/v1`;
}

function buildUrl(baseUrl: string, path: string, query: ApiRequestOptions<unknown>["query"]): string {
  const url = new URL(`${baseUrl.replace(/\/+$/, "")}/${path.replace(/^\/+/, "")}`);
  for (const [key, value] of Object.entries(query ?? {})) {
    if (value !== undefined) url.searchParams.set(key, String(value));
  }
  return url.toString();
}

function isAbort(error: unknown, signal: AbortSignal | undefined): boolean {
  return signal?.aborted === true || (error instanceof DOMException && error.name === "AbortError");
}

function errorFromEnvelope(status: number, payload: unknown): ApiRequestError {
  const parsed = apiErrorSchema.safeParse((payload as { error?: unknown } | null)?.error);
  if (parsed.success) {
    const apiError: ApiError = parsed.data;
    return new ApiRequestError({ status, code: apiError.code, message: apiError.message, details: apiError.details });
  }
  return new ApiRequestError({
    status,
    code: "INVALID_RESPONSE",
    message: `The API answered ${status} without a readable error.`,
  });
}

/** `attachment; filename="x.csv"` → `x.csv` (only a plain, path-free name). */
export function filenameFromDisposition(header: string | null): string | null {
  const match = header?.match(/filename="?([^";/\\]+)"?/i);
  return match?.[1]?.trim() || null;
}

export function createApiClient(options: ApiClientOptions): ApiClient {
  const baseUrl = options.baseUrl ?? defaultApiBaseUrl();

  async function request<T>(path: string, requestOptions: ApiRequestOptions<T> = {}): Promise<T> {
    const { method = "GET", body, query, idempotencyKey, signal, schema } = requestOptions;
    const url = buildUrl(baseUrl, path, query);
    const headers = new Headers(requestOptions.headers);
    headers.set("Accept", "application/json");
    const token = await options.getAccessToken();
    if (token) headers.set("Authorization", `Bearer ${token}`);
    if (idempotencyKey) headers.set("Idempotency-Key", idempotencyKey);
    if (body !== undefined) headers.set("Content-Type", "application/json");

    // Resolve `fetch` at call time so the global can be replaced (tests, polyfills).
    const doFetch = options.fetch ?? globalThis.fetch;
    let response: Response;
    try {
      response = await doFetch(url, {
        method,
        headers,
        body: body === undefined ? undefined : JSON.stringify(body),
        signal,
      });
    } catch (error) {
      if (isAbort(error, signal)) throw error;
      throw new ApiNetworkError(url, error);
    }

    if (response.status === 204) return undefined as T;

    let payload: unknown;
    try {
      payload = await response.json();
    } catch (error) {
      if (isAbort(error, signal)) throw error;
      throw new ApiRequestError({
        status: response.status,
        code: "INVALID_RESPONSE",
        message: `The API answered ${response.status} with something other than JSON.`,
      });
    }

    if (!response.ok) throw errorFromEnvelope(response.status, payload);

    const envelope = payload as Partial<ApiEnvelope<unknown>> | null;
    if (envelope === null || typeof envelope !== "object" || !("data" in envelope)) {
      throw new ApiRequestError({
        status: response.status,
        code: "INVALID_RESPONSE",
        message: "The API answered without the { data, error } envelope.",
      });
    }
    if (envelope.error) throw errorFromEnvelope(response.status, envelope);

    if (!schema) return envelope.data as T;
    const parsed = schema.safeParse(envelope.data);
    if (!parsed.success) {
      throw new ApiRequestError({
        status: response.status,
        code: "INVALID_RESPONSE",
        message: "The API answered with data this page does not understand.",
        details: { issues: parsed.error.issues.map((issue) => `${issue.path.join(".")}: ${issue.message}`) },
      });
    }
    return parsed.data;
  }

  async function download(path: string, downloadOptions: Pick<ApiRequestOptions<unknown>, "query" | "signal"> = {}): Promise<ApiDownload> {
    const { query, signal } = downloadOptions;
    const url = buildUrl(baseUrl, path, query);
    const headers = new Headers();
    const token = await options.getAccessToken();
    if (token) headers.set("Authorization", `Bearer ${token}`);
    const doFetch = options.fetch ?? globalThis.fetch;
    let response: Response;
    try {
      response = await doFetch(url, { method: "GET", headers, signal, cache: "no-store" });
    } catch (error) {
      if (isAbort(error, signal)) throw error;
      throw new ApiNetworkError(url, error);
    }
    if (!response.ok) {
      let payload: unknown = null;
      try {
        payload = await response.json();
      } catch {
        // Not our envelope: errorFromEnvelope says so.
      }
      throw errorFromEnvelope(response.status, payload);
    }
    let blob: Blob;
    try {
      blob = await response.blob();
    } catch (error) {
      if (isAbort(error, signal)) throw error;
      throw new ApiNetworkError(url, error);
    }
    return { blob, filename: filenameFromDisposition(response.headers.get("Content-Disposition")) };
  }

  return {
    request,
    download,
    get: (path, getOptions) => request(path, { ...getOptions, method: "GET" }),
    post: (path, body, postOptions) => request(path, { ...postOptions, method: "POST", body }),
  };
}
