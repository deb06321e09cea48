/**
 * Hostile input on the engine's HTTP routes is a 400, never a 500: NUL bytes and other values
 * PostgreSQL refuses in paths and queries, and checkpoint posts whose queue item id or steps are
 * malformed.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startHarness, type Harness } from "./support/harness.ts";

let h: Harness;
beforeAll(async () => {
  h = await startHarness();
});
afterAll(async () => {
  await h?.close();
});

async function statusOf(method: string, path: string, body?: unknown): Promise<number> {
  const response = await fetch(`${h.engine.url}${path}`, {
    method,
    headers: body === undefined ? {} : { "content-type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  await response.arrayBuffer();
  return response.status;
}

describe("the engine's routes refuse hostile input with a 400", () => {
  it("NUL bytes in paths and queries", async () => {
    expect(await statusOf("GET", "/v1/runs/%00")).toBe(400);
    expect(await statusOf("DELETE", "/v1/runs/%00")).toBe(400);
    expect(await statusOf("GET", "/v1/events/%00/runs")).toBe(400);
    expect(await statusOf("GET", "/v1/runs?status=%00")).toBe(400);
    expect(await statusOf("GET", "/v1/runs?cursor=%00")).toBe(400);
  });

  it("checkpoint posts with an out-of-range queue item id or a step that is not an object", async () => {
    const eventId = await h.send("test/sequential", { n: 1 });
    const run = await h.runFor(eventId);
    for (const qi of ["99999999999999999999.1", "1.99999999999", "1", "x.1"]) {
      expect(await statusOf("POST", `/v1/checkpoint/${run.id}/async`, { qi_id: qi, steps: [] }), qi).toBe(400);
    }
    expect(await statusOf("POST", `/v1/checkpoint/${run.id}/async`, { qi_id: "1.1", steps: [null] })).toBe(400);
    // The largest job id and owner are well formed: no such lease, so a stale dispatch (409), not a 400.
    expect(await statusOf("POST", `/v1/checkpoint/${run.id}/async`, { qi_id: "9223372036854775807.2147483647", steps: [] })).toBe(409);
    expect(await statusOf("POST", `/v1/checkpoint/${run.id}/async`, { qi_id: "1.1", steps: "nope" })).toBe(400);
  });
});

async function answerOf(method: string, path: string, init: { body?: string; headers?: Record<string, string> } = {}) {
  const response = await fetch(`${h.engine.url}${path}`, { method, headers: init.headers, body: init.body });
  const text = await response.text();
  let body: unknown = text;
  try {
    body = JSON.parse(text);
  } catch {
    // not JSON: compared as text
  }
  return { status: response.status, body };
}

describe("errors Express and its body parser raise keep their 4xx status, never a 500", () => {
  // Every route of src/api/app.ts with a path parameter: the router decodes it before any handler runs.
  const routes: [string, string][] = [
    ["GET", "/v1/runs/x%ZZ"],
    ["DELETE", "/v1/runs/x%ZZ"],
    ["POST", "/v1/runs/x%ZZ/cancel"],
    ["GET", "/v1/events/x%ZZ/runs"],
    ["POST", "/e/x%ZZ"],
    ["POST", "/v1/checkpoint/x%ZZ/async"],
  ];
  it.each(routes)("bad percent-encoding in the path: %s %s is a 400 in the engine's error shape", async (method, path) => {
    const answer = await answerOf(method, path, method === "POST" ? { body: "{}", headers: { "content-type": "application/json" } } : {});
    expect(answer).toEqual({ status: 400, body: { status: 400, error: "Failed to decode param 'x%ZZ'" } });
  });

  it("malformed JSON bodies are a 400 on every route that takes a body", async () => {
    const json = { "content-type": "application/json" };
    for (const path of ["/e/key", "/fn/register", "/v1/checkpoint/01J00000000000000000000000/async"]) {
      const answer = await answerOf("POST", path, { body: '{"name": ', headers: json });
      expect(answer.status, path).toBe(400);
      expect((answer.body as { status: number }).status, path).toBe(400);
    }
  });

  it("a body that is not a JSON object (wrong content type, none at all, a list) is a 400, not a 500", async () => {
    for (const path of ["/fn/register", "/v1/checkpoint/01J00000000000000000000000/async"]) {
      expect((await answerOf("POST", path, { body: "hello", headers: { "content-type": "text/plain" } })).status, path).toBe(400);
      expect((await answerOf("POST", path)).status, path).toBe(400);
    }
    expect((await answerOf("POST", "/v1/checkpoint/01J00000000000000000000000/async", { body: "[]", headers: { "content-type": "application/json" } })).status).toBe(400);
  });

  it("an unsupported charset or content encoding is the body parser's 415", async () => {
    const charset = await answerOf("POST", "/e/key", { body: "{}", headers: { "content-type": "application/json; charset=koi8-r" } });
    expect(charset).toEqual({ status: 415, body: { status: 415, error: 'unsupported charset "KOI8-R"' } });
    const encoding = await answerOf("POST", "/fn/register", { body: "{}", headers: { "content-type": "application/json", "content-encoding": "x-unknown" } });
    expect(encoding).toEqual({ status: 415, body: { status: 415, error: 'unsupported content encoding "x-unknown"' } });
  });

  it("none of these is logged as an engine failure", () => {
    expect(h.logs.filter((line) => / engine (GET|POST|DELETE) \S+ failed: /.test(line))).toEqual([]);
  });
});

describe("the runs listing refuses a bad limit with a 400 naming the parameter", () => {
  it.each(["abc", "-1", "99999999999", "1.5", "501", "", "1e2", " 5"])("limit=%j", async (limit) => {
    const answer = await answerOf("GET", `/v1/runs?limit=${encodeURIComponent(limit)}`);
    expect(answer).toEqual({ status: 400, body: { status: 400, error: "limit must be an integer from 1 to 500" } });
  });

  it("a repeated limit (or any other parameter of the listing) is a 400 naming it", async () => {
    for (const name of ["limit", "status", "cursor", "function_id", "event_id"]) {
      const value = name === "limit" ? "1" : "x";
      expect(await answerOf("GET", `/v1/runs?${name}=${value}&${name}=${value}`), name).toEqual({
        status: 400,
        body: { status: 400, error: `${name} must be given once` },
      });
    }
  });

  it("no limit or 0 takes the default (50), as Inngest's GET /v2/runs treats 0; 1 to 500 are used as given", async () => {
    for (let i = 0; i < 3; i += 1) await h.runFor(await h.send("test/sequential", { n: i }));
    const page = async (query: string) => {
      const answer = await answerOf("GET", `/v1/runs${query}`);
      expect(answer.status, query).toBe(200);
      return (answer.body as { data: unknown[] }).data.length;
    };
    const all = await page("");
    expect(all).toBeGreaterThanOrEqual(3);
    expect(await page("?limit=0")).toBe(all);
    expect(await page("?limit=2")).toBe(2);
    expect(await page("?limit=500")).toBe(all);
  });
});
