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
