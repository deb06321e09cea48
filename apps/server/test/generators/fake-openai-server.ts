import { createServer, type IncomingHttpHeaders, type Server } from "node:http";
import type { AddressInfo } from "node:net";

/**
 * A minimal OpenAI-compatible HTTP server for tests: the network edge the openai generator talks
 * to, so the real SDK runs unmodified. Each test queues the responses it wants.
 */
export interface RecordedRequest {
  readonly method: string;
  readonly url: string;
  readonly headers: IncomingHttpHeaders;
  readonly body: Record<string, unknown>;
}

export interface FakeResponse {
  readonly status?: number;
  readonly headers?: Record<string, string>;
  /** An object is sent as JSON; a string is sent as is. */
  readonly body?: unknown;
  /** Wait before answering (for timeouts and aborts). */
  readonly delayMs?: number;
}

export interface FakeOpenAIServer {
  readonly baseURL: string;
  readonly requests: RecordedRequest[];
  /** Answers the next request with this; when the queue is empty, answers with `fallback`. */
  enqueue(...responses: FakeResponse[]): void;
  close(): Promise<void>;
}

/** A chat completion whose message content is `content` (a string is sent verbatim). */
export function chatCompletionBody(
  content: unknown,
  options: {
    finishReason?: string;
    refusal?: string | null;
    model?: string;
  } = {},
): Record<string, unknown> {
  return {
    id: "chatcmpl-test",
    object: "chat.completion",
    created: 1_764_460_800,
    model: options.model ?? "test-model",
    choices: [
      {
        index: 0,
        message: {
          role: "assistant",
          content:
            typeof content === "string" ? content : JSON.stringify(content),
          refusal: options.refusal ?? null,
        },
        finish_reason: options.finishReason ?? "stop",
        logprobs: null,
      },
    ],
    usage: { prompt_tokens: 200, completion_tokens: 300, total_tokens: 500 },
  };
}

export async function startFakeOpenAIServer(
  fallback: FakeResponse,
): Promise<FakeOpenAIServer> {
  const queue: FakeResponse[] = [];
  const requests: RecordedRequest[] = [];
  const pendingTimers = new Set<NodeJS.Timeout>();

  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (chunk: Buffer) => chunks.push(chunk));
    req.on("end", () => {
      const raw = Buffer.concat(chunks).toString("utf8");
      requests.push({
        method: req.method ?? "",
        url: req.url ?? "",
        headers: req.headers,
        body: raw ? (JSON.parse(raw) as Record<string, unknown>) : {},
      });
      const response = queue.shift() ?? fallback;
      const send = (): void => {
        if (res.destroyed) return;
        const body = response.body;
        res.writeHead(response.status ?? 200, {
          "content-type":
            typeof body === "string" ? "text/plain" : "application/json",
          ...response.headers,
        });
        res.end(typeof body === "string" ? body : JSON.stringify(body ?? {}));
      };
      if (response.delayMs) {
        const timer = setTimeout(() => {
          pendingTimers.delete(timer);
          send();
        }, response.delayMs);
        pendingTimers.add(timer);
      } else {
        send();
      }
    });
  });

  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;

  return {
    baseURL: `http://127.0.0.1:${port}/v1`,
    requests,
    enqueue: (...responses) => queue.push(...responses),
    close: async () => {
      for (const timer of pendingTimers) clearTimeout(timer);
      server.closeAllConnections();
      await new Promise<void>((resolve, reject) =>
        server.close((error) => (error ? reject(error) : resolve())),
      );
    },
  };
}
