import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startHarness, type Harness } from "./support/harness.ts";

// Inngest's step limit (pkg/execution/executor/validate.go checkStepLimit) is checked before each
// request to the app: a run that already holds `limit` step results fails instead of making it.
// So a function of exactly `limit` steps fails (its last step runs, the request that would return
// its result is never made), and `limit - 1` steps complete. The real limit (1,000) would spend
// minutes in the SDK's replay; the same rule is driven here with the limit lowered to 5, through
// both the one-statement path for step results (engine.apply_step_run) and the general path.
let h: Harness;
beforeAll(async () => {
  h = await startHarness({ engine: { maxStepsPerRun: 5 } });
});
afterAll(async () => {
  await h?.close();
});

describe("the step limit, sequentially", () => {
  it("completes a run of limit - 1 steps", async () => {
    const run = await h.waitForRun((await h.runFor(await h.send("test/many", { count: 4 }))).id);
    expect(run.status).toBe("Completed");
    expect(run.output).toBe(4);
  });

  it("fails a run of exactly `limit` steps after its last step, before the request that would return", async () => {
    const run = await h.waitForRun((await h.runFor(await h.send("test/many", { count: 5 }))).id);
    expect(run.status).toBe("Failed");
    expect(run.error).toMatchObject({ name: "InngestErrFunctionOverflowed", message: "The function run exceeded the step limit of 5 steps." });
    expect(run.steps.filter((step) => step.memo !== null)).toHaveLength(5);
  });

  it("fails a longer run at the same point: no sixth step runs", async () => {
    const run = await h.waitForRun((await h.runFor(await h.send("test/many", { count: 8 }))).id);
    expect(run.status).toBe("Failed");
    expect(run.steps.filter((step) => step.memo !== null).map((step) => step.name)).toEqual(["s0", "s1", "s2", "s3", "s4"]);
  });
});
