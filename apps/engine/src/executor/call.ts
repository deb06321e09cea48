import http from "node:http";
import https from "node:https";
import canonicalize from "canonicalize";
import { engineError, type EngineEvent, type SerializedError } from "../store/records.ts";
import { signPayload, verifySignature } from "./signing.ts";

/** One op from a 206 response, as the SDK sends it. */
export interface Op {
  readonly id: string;
  readonly op: string;
  readonly name?: string;
  readonly displayName?: string;
  readonly opts?: Record<string, unknown>;
  readonly data?: unknown;
  readonly error?: SerializedError;
}

export type CallResult =
  /** No HTTP answer at all: connection refused or reset, or no answer within the call timeout. */
  | { readonly kind: "unreachable"; readonly message: string }
  /** The SDK answered with something unusable (bad signature, 401, streaming, bad JSON). */
  | { readonly kind: "invalid"; readonly message: string }
  /** Something other than the SDK answered 5xx (its middleware threw, a proxy): a failed attempt, as on Inngest. */
  | { readonly kind: "upstream"; readonly error: SerializedError }
  | { readonly kind: "completed"; readonly output: unknown; readonly version?: number }
  | { readonly kind: "ops"; readonly ops: Op[]; readonly retryAfterMs?: number; readonly version?: number }
  | {
      readonly kind: "error";
      readonly retriable: boolean;
      readonly error: SerializedError;
      readonly retryAfterMs?: number;
      readonly version?: number;
    };

export interface CallRequest {
  readonly url: string;
  /** The job's stable key, sent as x-inngest-job-id (the SDK's ctx.jobId); the same on every retry of the job. */
  readonly jobId: string;
  readonly stepId: string;
  readonly runId: string;
  readonly attempt: number;
  readonly maxAttempts: number;
  readonly event: EngineEvent;
  /** Memoized steps in completion order. */
  readonly steps: readonly { readonly id: string; readonly memo: unknown }[];
  readonly version: number;
  readonly disableImmediateExecution: boolean;
  /**
   * Set to let the SDK checkpoint (run steps inline and post each to /v1/checkpoint/:runId/async):
   * sent as ctx.fn_id and ctx.qi_id, which is what turns the SDK's async checkpointing on.
   */
  readonly checkpoint?: { readonly fnId: string; readonly queueItemId: string };
}

export interface CallOptions {
  readonly signingKey?: string;
  readonly timeoutMs: number;
}

/**
 * The request body. With ctx.fn_id and ctx.qi_id the SDK checkpoints (runs consecutive steps in
 * this one request and posts each result to the engine before going on); without them it answers
 * every step in its own response (the engine's `checkpointing: false`).
 */
export function buildCallBody(request: CallRequest, canonical = true): string {
  const body = {
    event: request.event,
    events: [request.event],
    steps: Object.fromEntries(request.steps.map((step) => [step.id, step.memo])),
    version: request.version,
    ctx: {
      run_id: request.runId,
      attempt: request.attempt,
      max_attempts: request.maxAttempts,
      disable_immediate_execution: request.disableImmediateExecution,
      use_api: false,
      stack: { stack: request.steps.map((step) => step.id), current: request.steps.length },
      ...(request.checkpoint ? { fn_id: request.checkpoint.fnId, qi_id: request.checkpoint.queueItemId } : {}),
    },
  };
  // Signatures are computed over the JCS form of the parsed body, so a signed body is sent in
  // exactly that form; unsigned, plain JSON is the same to the SDK and cheaper.
  return canonical ? (canonicalize(body) ?? "{}") : JSON.stringify(body);
}

// node:http with keep-alive: noticeably cheaper per call than fetch, and calls are the hot path.
const httpAgent = new http.Agent({ keepAlive: true, maxSockets: 256 });
const httpsAgent = new https.Agent({ keepAlive: true, maxSockets: 256 });

interface RawResponse {
  readonly status: number;
  readonly headers: http.IncomingHttpHeaders;
  readonly text: string;
}

function post(url: URL, headers: Record<string, string>, body: string, timeoutMs: number): Promise<RawResponse> {
  const client = url.protocol === "https:" ? https : http;
  return new Promise((resolve, reject) => {
    const request = client.request(
      url,
      {
        method: "POST",
        headers: { ...headers, "content-length": String(Buffer.byteLength(body)) },
        agent: url.protocol === "https:" ? httpsAgent : httpAgent,
      },
      (response) => {
        const chunks: Buffer[] = [];
        response.on("data", (chunk: Buffer) => chunks.push(chunk));
        response.on("end", () =>
          resolve({ status: response.statusCode ?? 0, headers: response.headers, text: Buffer.concat(chunks).toString("utf8") }),
        );
        response.on("error", reject);
      },
    );
    request.setTimeout(timeoutMs, () => request.destroy(new Error(`no answer within ${timeoutMs} ms`)));
    request.on("error", reject);
    request.end(body);
  });
}

const header = (headers: http.IncomingHttpHeaders, name: string): string | null => {
  const value = headers[name];
  return Array.isArray(value) ? (value[0] ?? null) : (value ?? null);
};

function parseRetryAfter(value: string | null): number | undefined {
  if (!value) return undefined;
  const seconds = Number(value);
  if (Number.isFinite(seconds)) return Math.max(0, seconds * 1000);
  const date = Date.parse(value);
  return Number.isNaN(date) ? undefined : Math.max(0, date - Date.now());
}

function toError(value: unknown, fallback: string): SerializedError {
  if (typeof value === "object" && value !== null && typeof (value as { message?: unknown }).message === "string") {
    const error = value as SerializedError;
    return { ...error, name: typeof error.name === "string" ? error.name : "Error" };
  }
  if (typeof value === "object" && value !== null && typeof (value as { error?: unknown }).error === "string") {
    return engineError((value as { error: string }).error);
  }
  return engineError(fallback);
}

export async function callApp(request: CallRequest, options: CallOptions): Promise<CallResult> {
  const url = new URL(request.url);
  url.searchParams.set("stepId", request.stepId || "step");
  const body = buildCallBody(request, options.signingKey !== undefined);
  const headers: Record<string, string> = {
    "content-type": "application/json",
    "x-inngest-server-kind": options.signingKey ? "cloud" : "dev",
    "x-request-id": `${request.runId}-${request.stepId || "step"}-${request.attempt}`,
    "x-run-id": request.runId,
    "x-inngest-job-id": request.jobId,
  };
  if (request.version > 0) headers["x-inngest-req-version"] = String(request.version);
  if (options.signingKey) headers["x-inngest-signature"] = signPayload(body, options.signingKey);

  let response: RawResponse;
  try {
    response = await post(url, headers, body, options.timeoutMs);
  } catch (error) {
    const code = (error as { code?: string }).code;
    return {
      kind: "unreachable",
      message: `${(error as Error).message}${code && !(error as Error).message.includes(code) ? ` (${code})` : ""}`,
    };
  }
  const text = response.text;
  const get = (name: string) => header(response.headers, name);

  if (!get("x-inngest-sdk")) {
    // The SDK strips its headers from 401s; a 401 is a key mismatch, not a flaky network.
    if (response.status === 401)
      return { kind: "invalid", message: "the app rejected the request signature (401): check INNGEST_SIGNING_KEY on both sides" };
    if (response.status === 413) {
      return {
        kind: "invalid",
        message: 'the app refused the request body as too large (413): raise its JSON body limit, e.g. express.json({ limit: "5mb" })',
      };
    }
    // A 4xx from something other than the SDK (wrong path, a proxy rule) will not fix itself;
    // a 5xx (a proxy while the app restarts) or no answer at all usually does.
    if (response.status >= 400 && response.status < 500) {
      return {
        kind: "invalid",
        message: `HTTP ${response.status} without an Inngest SDK header: is ${url.origin}${url.pathname} the serve handler?`,
      };
    }
    // A 5xx without the SDK's header: the request reached the app, but not the SDK (a middleware
    // threw, or a proxy answered). Inngest counts it as a failed attempt (httpdriver.go,
    // FatalUpstreamError), and so does the engine; only a missing answer is "unreachable".
    const snippet = text.length > 8192 ? `${text.slice(0, 8192)}\n… (truncated)` : text;
    const message = `Your server returned HTTP ${response.status} before the SDK responded.`;
    return {
      kind: "upstream",
      error: {
        name: "Server returned a fatal error",
        message,
        stack: `No step output was produced before the request failed: a middleware in front of the serve handler threw, or a proxy answered.${snippet ? `\n\nUpstream response (${header(response.headers, "content-type") ?? "unknown content-type"}):\n${snippet}` : ""}`,
      },
    };
  }
  if (options.signingKey && !verifySignature(get("x-inngest-signature"), text, options.signingKey)) {
    return { kind: "invalid", message: "the app's response signature is missing or invalid" };
  }
  const versionHeader = Number(get("x-inngest-req-version"));
  const version = Number.isInteger(versionHeader) && versionHeader > 0 ? versionHeader : undefined;
  const retryAfterMs = parseRetryAfter(get("retry-after"));

  let parsed: unknown;
  try {
    parsed = text === "" ? null : JSON.parse(text);
  } catch {
    return { kind: "invalid", message: `the app answered HTTP ${response.status} with a body that is not JSON` };
  }

  if (response.status === 200) return { kind: "completed", output: parsed, version };
  if (response.status === 206) {
    const ops = (Array.isArray(parsed) ? parsed : [parsed]) as Op[];
    if (ops.length === 0 || ops.some((op) => typeof op !== "object" || op === null || typeof op.op !== "string")) {
      return { kind: "invalid", message: "the app answered 206 with something that is not a list of ops" };
    }
    return { kind: "ops", ops, retryAfterMs, version };
  }
  if (response.status === 201) return { kind: "invalid", message: "streaming responses (INNGEST_STREAMING) are not supported" };
  const noRetry = get("x-inngest-no-retry") === "true";
  return {
    kind: "error",
    retriable: !noRetry && response.status >= 500,
    error: toError(parsed, `the app answered HTTP ${response.status}`),
    retryAfterMs,
    version,
  };
}
