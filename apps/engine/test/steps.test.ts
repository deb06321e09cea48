import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startHarness, type Harness } from "./support/harness.ts";

let h: Harness;
beforeAll(async () => {
  h = await startHarness();
});
afterAll(async () => {
  await h?.close();
});

describe("steps through the engine", () => {
  it("runs sequential steps, each once, and returns the function's output", async () => {
    const eventId = await h.send("test/sequential", { n: 7 });
    const run = await h.waitForRun((await h.runFor(eventId)).id);
    expect(run.status).toBe("Completed");
    expect(run.output).toEqual({ c: "a:7+b+c" });
    expect(["a", "b", "c"].map((step) => h.probe.ran(run.id, step))).toEqual([1, 1, 1]);
    expect(run.steps.map((step) => step.name)).toEqual(["a", "b", "c"]);
  });

  it("runs three parallel steps once each and coalesces their results", async () => {
    const eventId = await h.send("test/parallel");
    const run = await h.waitForRun((await h.runFor(eventId)).id);
    expect(run.status).toBe("Completed");
    expect(run.output).toEqual({ parts: ["X", "Y", "Z"], joined: "XYZ" });
    expect(["part-x", "part-y", "part-z"].map((step) => h.probe.ran(run.id, step))).toEqual([1, 1, 1]);
  });

  it("sleeps and resumes after the duration", async () => {
    const eventId = await h.send("test/sleep");
    const run = await h.waitForRun((await h.runFor(eventId)).id);
    expect(run.status).toBe("Completed");
    expect(run.output).toEqual({ slept: true });
  });

  it("sleepUntil wakes at the given time, not before", async () => {
    const run = await h.waitForRun((await h.runFor(await h.send("test/sleep-until", { wakeAt: Date.now() + 1_500 }))).id);
    expect(run.status).toBe("Completed");
    expect(run.output).toBe(true);
  });

  it("step.sendEvent triggers a second function", async () => {
    const eventId = await h.send("test/send", { id: "p1" });
    const run = await h.waitForRun((await h.runFor(eventId)).id);
    expect(run.status).toBe("Completed");
    const sentIds = (run.output as { sentIds: string[] }).sentIds;
    expect(sentIds).toHaveLength(1);
    const childRun = await h.waitForRun((await h.runFor(sentIds[0]!)).id);
    expect(childRun.function_id).toBe("conformance-child");
    expect(childRun.output).toBe("child of p1");
  });

  it("deduplicates run creation by event id: the same id sent twice is two events and one run", async () => {
    const id = `dedupe-${Date.now()}`;
    const first = await h.client.send({ id, name: "test/sequential", data: { n: 1 } });
    const second = await h.client.send({ id, name: "test/sequential", data: { n: 1 } });
    // As on Inngest, the event API answers the server's internal ids, one per event received.
    expect(second.ids[0]).not.toBe(first.ids[0]);
    const run = await h.waitForRun((await h.runFor(first.ids[0]!)).id);
    expect((run as unknown as { event: { id: string } }).event.id).toBe(id);
    expect(await h.runsFor(second.ids[0]!)).toEqual([]);
  });

  it("starts a run only when the trigger expression matches", async () => {
    const low = await h.send("test/filtered", { priority: 1 });
    const high = await h.send("test/filtered", { priority: 9 });
    const run = await h.waitForRun((await h.runFor(high)).id);
    expect(run.output).toBe(9);
    expect(await h.runsFor(low)).toEqual([]);
  });
});
