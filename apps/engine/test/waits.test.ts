import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { eventually, startHarness, type Harness } from "./support/harness.ts";

let h: Harness;
beforeAll(async () => {
  h = await startHarness();
});
afterAll(async () => {
  await h?.close();
});

const hasOpenWait = (run: { waits: { kind: string; resolution: string | null }[] }) =>
  run.waits.some((wait) => wait.kind === "event" && wait.resolution === null);

describe("waitForEvent and cancelOn", () => {
  it("resumes a wait with the matching event and ignores a non-matching one", async () => {
    const run = await h.runFor(await h.send("test/wait", { id: "w-1" }));
    await h.waitForRun(run.id, hasOpenWait);
    await h.send("test/approve", { id: "someone-else", by: "mallory" });
    await h.send("test/approve", { id: "w-1", by: "alice" });
    const done = await h.waitForRun(run.id);
    expect(done.status).toBe("Completed");
    expect(done.output).toEqual({ approvedBy: "alice" });
  });

  it("matches an `if` expression against the trigger event (event) and the incoming one (async)", async () => {
    const run = await h.runFor(await h.send("test/wait-if", { id: "if-1", minLevel: 3 }));
    await h.waitForRun(run.id, hasOpenWait);
    await h.send("test/approve-if", { id: "if-1", level: 2 });
    await h.send("test/approve-if", { id: "if-2", level: 9 });
    await h.send("test/approve-if", { id: "if-1", level: 4 });
    const done = await h.waitForRun(run.id);
    expect(done.output).toEqual({ level: 4 });
  });

  it("resolves a wait that times out to null", async () => {
    const run = await h.runFor(await h.send("test/wait", { id: "w-timeout", timeout: "1s" }));
    const done = await h.waitForRun(run.id);
    expect(done.status).toBe("Completed");
    expect(done.output).toEqual({ approvedBy: null });
    expect(done.waits.find((wait) => wait.kind === "event")?.resolution).toBe("timeout");
  });

  it("keeps the lost-wakeup edge: an event sent before the wait is registered does not resume it", async () => {
    const run = await h.runFor(await h.send("test/wait", { id: "w-early", gated: true, timeout: "2s" }));
    await eventually("the gate step to start", () => (h.probe.ran(run.id, "gate") > 0 ? true : undefined));
    // The wait does not exist yet: this event must be lost, exactly as on Inngest.
    await h.send("test/approve", { id: "w-early", by: "too-early" });
    h.probe.open("wait-w-early");
    await h.waitForRun(run.id, hasOpenWait);
    const done = await h.waitForRun(run.id);
    expect(done.output).toEqual({ approvedBy: null });
  });

  it("a wait in Promise.all with the step that triggers the answer is registered before the answer arrives", async () => {
    const run = await h.waitForRun((await h.runFor(await h.send("test/handshake", { id: "hs-1" }))).id);
    expect(run.status).toBe("Completed");
    expect(run.output).toEqual({ by: "responder", after: "done" });
  });

  it("cancelOn cancels a waiting run, and its later steps never run", async () => {
    const run = await h.runFor(await h.send("test/cancellable", { id: "c-1" }));
    await h.waitForRun(run.id, hasOpenWait);
    await h.send("test/cancel", { id: "other" });
    await h.send("test/cancel", { id: "c-1" });
    const done = await h.waitForRun(run.id);
    expect(done.status).toBe("Cancelled");
    expect(h.probe.ran(run.id, "after")).toBe(0);
  });

  it("cancelOn lets a step in flight finish, drops its result and runs nothing after it", async () => {
    const run = await h.runFor(await h.send("test/cancellable", { id: "c-2", slow: true }));
    await eventually("the slow step to start", () => (h.probe.ran(run.id, "slow-started") > 0 ? true : undefined));
    await h.send("test/cancel", { id: "c-2" });
    const done = await h.waitForRun(run.id);
    expect(done.status).toBe("Cancelled");
    h.probe.open("slow-c-2");
    await eventually("the slow step to finish", () => (h.probe.ran(run.id, "slow-finished") > 0 ? true : undefined));
    await new Promise((resolve) => setTimeout(resolve, 300));
    const after = await h.getRun(run.id);
    expect(after.status).toBe("Cancelled");
    expect(after.steps.find((step) => step.name === "slow")?.memo ?? null).toBeNull();
    expect(h.probe.ran(run.id, "after")).toBe(0);
  });

  it("emits inngest/function.cancelled and inngest/function.finished for a cancelled run", async () => {
    const run = await h.runFor(await h.send("test/cancellable", { id: "c-3" }));
    await h.waitForRun(run.id, hasOpenWait);
    const response = await fetch(`${h.engine.url}/v1/runs/${run.id}/cancel`, { method: "POST" });
    expect(response.status).toBe(200);
    expect((await h.waitForRun(run.id)).status).toBe("Cancelled");
    const { rows } = await h.pool.query<{ name: string; status: string | null }>(
      `SELECT name, body->'data'->'_inngest'->>'status' AS status FROM engine.events WHERE body->'data'->>'run_id' = $1 ORDER BY name`,
      [run.id],
    );
    expect(rows).toEqual([
      { name: "inngest/function.cancelled", status: null },
      { name: "inngest/function.finished", status: "Cancelled" },
    ]);
    expect((await fetch(`${h.engine.url}/v1/runs/${run.id}/cancel`, { method: "POST" })).status).toBe(409);
  });
});
