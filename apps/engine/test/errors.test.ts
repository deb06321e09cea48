import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { eventually, startHarness, type Harness } from "./support/harness.ts";

let h: Harness;
beforeAll(async () => {
  h = await startHarness();
});
afterAll(async () => {
  await h?.close();
});

describe("retries and failures", () => {
  it("retries a failing step and succeeds on its third attempt", async () => {
    const run = await h.waitForRun((await h.runFor(await h.send("test/flaky"))).id);
    expect(run.status).toBe("Completed");
    expect(run.output).toEqual({ succeededOnAttempt: 3 });
    expect(h.probe.attempts.get(run.id)).toBe(3);
    expect(run.steps.find((step) => step.name === "flaky-step")).toMatchObject({ attempts: 3, memo: { data: { succeededOnAttempt: 3 } } });
  });

  it("honours Retry-After from a RetryAfterError", async () => {
    const run = await h.waitForRun((await h.runFor(await h.send("test/retry-after"))).id);
    expect(run.output).toBe(2);
    expect(h.logs.some((line) => line.includes(run.id.slice(-8)) && line.includes("in 1s after RetryAfterError"))).toBe(true);
  });

  it("fails a NonRetriableError step at once: one attempt, run failed with the step's error", async () => {
    const run = await h.waitForRun((await h.runFor(await h.send("test/fatal"))).id);
    expect(run.status).toBe("Failed");
    expect(h.probe.ran(run.id, "doomed")).toBe(1);
    expect(run.error?.message).toContain("this cannot work");
    expect(run.steps.find((step) => step.name === "doomed")?.memo).toMatchObject({
      error: { name: "NonRetriableError", message: "this cannot work" },
    });
  });

  it("surfaces a step that failed for good as a StepError the function can catch", async () => {
    const run = await h.waitForRun((await h.runFor(await h.send("test/caught"))).id);
    expect(run.status).toBe("Completed");
    expect(run.output).toEqual({ isStepError: true, message: "boom" });
  });

  it("a function failure fails the run, emits inngest/function.failed and runs onFailure", async () => {
    const eventId = await h.send("test/failing");
    const run = await h.waitForRun((await h.runFor(eventId)).id);
    expect(run.status).toBe("Failed");
    expect(run.error?.message).toBe("the function gave up");
    const failure = await eventually("the onFailure run", () => h.probe.failures.find((entry) => entry.message === "the function gave up"));
    expect(failure.originalEvent).toBe("test/failing");
    const { rows } = await h.pool.query<{ id: string }>(
      `SELECT r.id FROM engine.runs r JOIN engine.events e ON e.id = r.event_id
       WHERE r.function_id = 'conformance-failing-failure' AND e.body->'data'->>'run_id' = $1`,
      [run.id],
    );
    const failureRun = await h.waitForRun(rows[0]!.id);
    expect(failureRun.output).toEqual({ handled: "the function gave up" });
  });

  it("holds a concurrency limit of 2 per key with five runs in flight", async () => {
    const ids = await Promise.all([1, 2, 3, 4, 5].map(() => h.send("test/limited", { key: "k1" })));
    const other = await h.send("test/limited", { key: "k2" });
    const runs = await Promise.all([...ids, other].map(async (id) => h.waitForRun((await h.runFor(id)).id)));
    expect(runs.map((run) => run.status)).toEqual(Array(6).fill("Completed"));
    // Never more than two at once for one key (how close it gets to two depends on timing).
    expect(h.probe.maxActive.get("k1")).toBeLessThanOrEqual(2);
    expect(h.probe.maxActive.get("k2")).toBe(1);
  });
});

describe("limits", () => {
  it("fails a run whose one answer plans more than 1,000 steps, with Inngest's error", async () => {
    // 1,001 parallel steps in one answer: Inngest refuses the plan (executor.go, "Disallow parallel
    // plans that exceed the step limit"). The sequential case is in step-limit.test.ts.
    const run = await h.waitForRun((await h.runFor(await h.send("test/many", { count: 1001, parallel: true }))).id);
    expect(run.status).toBe("Failed");
    expect(run.error).toMatchObject({ name: "InngestErrFunctionOverflowed", message: "The function run exceeded the step limit of 1000 steps." });
    expect(run.steps.filter((step) => step.memo !== null)).toHaveLength(0);
    const exactly = await h.waitForRun((await h.runFor(await h.send("test/many", { count: 40 }))).id);
    expect(exactly.output).toBe(40);
  });

  it("fails a run whose step returns more than 4 MB", async () => {
    const run = await h.waitForRun((await h.runFor(await h.send("test/big"))).id);
    expect(run.status).toBe("Failed");
    expect(run.error?.message).toMatch(/step "huge" returned 5\.0 MB, over the 4 MB limit/);
  });

  it("refuses an event over 512 kB and a request over 3 MB", async () => {
    const big = await fetch(`${h.engine.url}/e/key`, {
      method: "POST",
      body: JSON.stringify([{ name: "test/x", data: { blob: "x".repeat(600_000) } }]),
    });
    expect(big.status).toBe(413);
    expect(await big.json()).toMatchObject({ status: 413, error: expect.stringContaining("limit per event") });
    const huge = await fetch(`${h.engine.url}/e/key`, {
      method: "POST",
      body: JSON.stringify(Array(8).fill({ name: "test/x", data: { blob: "x".repeat(400_000) } })),
    });
    expect(huge.status).toBe(413);
  });
});
