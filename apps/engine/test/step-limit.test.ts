import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startHarness, type Harness } from "./support/harness.ts";

// The real cap (1,000) is proven in errors.test.ts with parallel steps; a sequential run that long
// would spend minutes in the SDK's replay. Here the same cap, lowered, is driven step by step, so
// the one-statement path for step results (engine.apply_step_run) is covered too.
let h: Harness;
beforeAll(async () => {
  h = await startHarness({ engine: { maxStepsPerRun: 5 } });
});
afterAll(async () => {
  await h?.close();
});

describe("the step cap, sequentially", () => {
  it("lets a run reach the cap exactly and fails the one step past it", async () => {
    const atCap = await h.waitForRun((await h.runFor(await h.send("test/many", { count: 5 }))).id);
    expect(atCap.status).toBe("completed");
    expect(atCap.output).toBe(5);

    const past = await h.waitForRun((await h.runFor(await h.send("test/many", { count: 6 }))).id);
    expect(past.status).toBe("failed");
    expect(past.error?.message).toBe("function run exceeded the limit of 5 steps");
    expect(past.steps.filter((step) => step.memo !== null)).toHaveLength(5);
  });
});
