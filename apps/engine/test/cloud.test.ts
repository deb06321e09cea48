import { createHash } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startHarness, type Harness } from "./support/harness.ts";

const signingKey = "signkey-test-8ee2262a15e8d3c42d6a840db7af3de2aab08ef632b32a37a687f24b34dba3ff";
const eventKey = "test-event-key";

let h: Harness;
beforeAll(async () => {
  h = await startHarness({ cloud: { signingKey, eventKey } });
});
afterAll(async () => {
  await h?.close();
});

describe("cloud mode (signing key set)", () => {
  it("signs calls, verifies the app's signed answers and completes a run with a wait", async () => {
    const run = await h.runFor(await h.send("test/wait", { id: "cloud-1" }));
    await h.waitForRun(run.id, (view) => view.waits.some((wait) => wait.kind === "event" && wait.resolution === null));
    await h.send("test/approve", { id: "cloud-1", by: "signed" });
    const done = await h.waitForRun(run.id);
    expect(done.output).toEqual({ approvedBy: "signed" });
  });

  it("refuses events sent with another event key", async () => {
    const response = await fetch(`${h.engine.url}/e/wrong-key`, {
      method: "POST",
      body: JSON.stringify([{ name: "test/sequential", data: {} }]),
    });
    expect(response.status).toBe(401);
    expect(await response.json()).toMatchObject({ status: 401 });
  });

  it("refuses an out-of-band sync without the signing key's hash as bearer", async () => {
    const response = await fetch(`${h.engine.url}/fn/register`, {
      method: "POST",
      headers: { "content-type": "application/json", authorization: "Bearer signkey-test-0000" },
      body: JSON.stringify({ url: "http://127.0.0.1:1/api/inngest", appName: "intruder", functions: [] }),
    });
    expect(response.status).toBe(401);
  });

  it("inspection and cancel routes need the signing key as a bearer (the key itself, or its hash)", async () => {
    const run = await h.runFor(await h.send("test/cancellable", { id: "cloud-auth" }));
    const routes: { path: string; method: string }[] = [
      { path: `/v1/runs/${run.id}`, method: "GET" },
      { path: `/v1/runs?limit=1`, method: "GET" },
      { path: `/v1/events/${run.event_id}/runs`, method: "GET" },
      { path: `/v1/runs/${run.id}`, method: "DELETE" },
      { path: `/v1/runs/${run.id}/cancel`, method: "POST" },
    ];
    for (const route of routes) {
      for (const authorization of [undefined, "Bearer signkey-test-00", `Bearer ${signingKey.replace("8ee2", "0000")}`]) {
        const response = await fetch(`${h.engine.url}${route.path}`, { method: route.method, headers: authorization ? { authorization } : {} });
        expect({ ...route, authorization, status: response.status }).toEqual({ ...route, authorization, status: 401 });
      }
    }
    const read = await fetch(`${h.engine.url}/v1/runs/${run.id}`, { headers: { authorization: `Bearer ${signingKey}` } });
    expect(read.status).toBe(200);
    const hashed = `signkey-test-${createHash("sha256").update(Buffer.from(signingKey.replace("signkey-test-", ""), "hex")).digest("hex")}`;
    const cancel = await fetch(`${h.engine.url}/v1/runs/${run.id}`, { method: "DELETE", headers: { authorization: `Bearer ${hashed}` } });
    expect(cancel.status).toBe(200);
    expect((await h.waitForRun(run.id)).status).toBe("Cancelled");
  });

  it("the app refuses unsigned calls, so an engine with the wrong key cannot drive it", async () => {
    const response = await fetch(`${h.app.url}?fnId=conformance-sequential&stepId=step`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({
        event: { name: "test/sequential", data: {} },
        events: [],
        steps: {},
        ctx: { run_id: "r", attempt: 0, stack: { stack: [], current: 0 } },
      }),
    });
    expect(response.status).toBe(401);
  });
});
