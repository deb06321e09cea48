import { batchControlResponseSchema } from "@batchgen/types";
import { describe, expect, it, vi } from "vitest";
import { ApiNetworkError, ApiRequestError, createApiClient, isApiRequestError } from "@/lib/api";

const BASE = "http://api.test/api/v1";

function jsonResponse(status: number, body: unknown): Response {
  return new Response(JSON.stringify(body), { status, headers: { "Content-Type": "application/json" } });
}

function setup(answer: Response | (() => Promise<Response>), token: string | null = "token-abc") {
  const fetchMock = vi.fn<typeof fetch>(async () => (typeof answer === "function" ? answer() : answer));
  const client = createApiClient({ baseUrl: BASE, getAccessToken: () => Promise.resolve(token), fetch: fetchMock });
  const lastCall = () => {
    const [url, init] = fetchMock.mock.calls.at(-1)!;
    return { url: url instanceof Request ? url.url : url.toString(), init: init!, headers: new Headers(init!.headers) };
  };
  return { client, fetchMock, lastCall };
}

describe("createApiClient", () => {
  it("sends the access token as a Bearer header and returns the envelope's data", async () => {
    const { client, lastCall } = setup(jsonResponse(200, { data: { items: [], nextCursor: null }, error: null }));
    const data = await client.get<{ items: unknown[] }>("/generation/batch", { query: { limit: 20, cursor: undefined } });
    expect(data).toEqual({ items: [], nextCursor: null });
    const { url, init, headers } = lastCall();
    expect(url).toBe("http://api.test/api/v1/generation/batch?limit=20");
    expect(init.method).toBe("GET");
    expect(headers.get("Authorization")).toBe("Bearer token-abc");
    expect(headers.get("Accept")).toBe("application/json");
    expect(init.body).toBeUndefined();
  });

  it("posts JSON with an Idempotency-Key and validates the data against a schema", async () => {
    const response = {
      batchId: "b1",
      previousStatus: "running",
      newStatus: "paused",
      action: "pause",
      timestamp: "2026-02-19T12:05:00Z",
    };
    const { client, lastCall } = setup(jsonResponse(200, { data: response, error: null }));
    const data = await client.post("/generation/batch/b1/pause", { reason: "lunch" }, {
      idempotencyKey: "key-1",
      schema: batchControlResponseSchema,
    });
    expect(data.newStatus).toBe("paused");
    const { init, headers } = lastCall();
    expect(init.method).toBe("POST");
    expect(init.body).toBe(JSON.stringify({ reason: "lunch" }));
    expect(headers.get("Content-Type")).toBe("application/json");
    expect(headers.get("Idempotency-Key")).toBe("key-1");
  });

  it("sends no Authorization header when there is no session", async () => {
    const { client, lastCall } = setup(jsonResponse(200, { data: { ok: true }, error: null }), null);
    await client.get("/health");
    expect(lastCall().headers.has("Authorization")).toBe(false);
  });

  it("turns an error envelope into an ApiRequestError with status, code, message and details", async () => {
    const { client } = setup(
      jsonResponse(409, {
        data: null,
        error: {
          code: "INVALID_TRANSITION",
          message: "Cannot pause a batch that is paused",
          details: { currentStatus: "paused", allowedActions: ["resume", "cancel"] },
        },
      }),
    );
    const error = await client.post("/generation/batch/b1/pause").catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ApiRequestError);
    expect(error).toMatchObject({
      name: "ApiRequestError",
      status: 409,
      code: "INVALID_TRANSITION",
      message: "Cannot pause a batch that is paused",
      details: { currentStatus: "paused", allowedActions: ["resume", "cancel"] },
    });
    expect(isApiRequestError(error, "INVALID_TRANSITION")).toBe(true);
    expect(isApiRequestError(error, "NOT_FOUND")).toBe(false);
  });

  it("reports a 401 without details", async () => {
    const { client } = setup(jsonResponse(401, { data: null, error: { code: "UNAUTHORIZED", message: "Missing token" } }));
    await expect(client.get("/generation/batch")).rejects.toMatchObject({
      status: 401,
      code: "UNAUTHORIZED",
      details: undefined,
    });
  });

  it("calls an error answer that is not JSON an INVALID_RESPONSE, keeping the status", async () => {
    const { client } = setup(new Response("<html>Bad gateway</html>", { status: 502 }));
    await expect(client.get("/generation/batch")).rejects.toMatchObject({
      name: "ApiRequestError",
      status: 502,
      code: "INVALID_RESPONSE",
    });
  });

  it("calls JSON without the envelope an INVALID_RESPONSE", async () => {
    const { client } = setup(jsonResponse(200, { items: [] }));
    await expect(client.get("/generation/batch")).rejects.toMatchObject({ code: "INVALID_RESPONSE", status: 200 });
  });

  it("calls data that fails the schema an INVALID_RESPONSE and lists the issues", async () => {
    const { client } = setup(jsonResponse(200, { data: { batchId: 1 }, error: null }));
    const error = await client
      .post("/generation/batch/b1/pause", undefined, { schema: batchControlResponseSchema })
      .catch((e: unknown) => e);
    expect(error).toMatchObject({ code: "INVALID_RESPONSE" });
    expect((error as ApiRequestError).details?.issues).toEqual(expect.arrayContaining([expect.stringMatching(/^batchId:/)]));
  });

  it("turns a failed fetch into an ApiNetworkError, distinct from ApiRequestError", async () => {
    const { client } = setup(() => Promise.reject(new TypeError("fetch failed")));
    const error = await client.get("/generation/batch").catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ApiNetworkError);
    expect(error).not.toBeInstanceOf(ApiRequestError);
    expect((error as ApiNetworkError).message).toMatch(/Cannot reach the API at http:\/\/api\.test/);
    expect((error as ApiNetworkError).cause).toBeInstanceOf(TypeError);
  });

  it("lets an abort by the caller through unchanged", async () => {
    const controller = new AbortController();
    const { client } = setup(() => {
      controller.abort();
      return Promise.reject(new DOMException("The operation was aborted.", "AbortError"));
    });
    const error = await client.get("/generation/batch", { signal: controller.signal }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DOMException);
    expect((error as DOMException).name).toBe("AbortError");
  });

  it("returns undefined for 204 No Content", async () => {
    const { client } = setup(new Response(null, { status: 204 }));
    await expect(client.request("/things/1", { method: "DELETE" })).resolves.toBeUndefined();
  });
});
