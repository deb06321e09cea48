import { Inngest } from "inngest";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startHarness, type Harness } from "./support/harness.ts";
import { serveFunctions, type ServedApp } from "./support/serve-app.ts";

// Inngest's step limit (pkg/execution/executor/validate.go checkStepLimit) is checked before each
// request to the app: a run that already holds `limit` step results fails instead of making it.
// Without checkpointing every step is its own request, so a function of exactly `limit` steps
// fails (its last step runs, the request that would return its result is never made) and
// `limit - 1` steps complete. With checkpointing, steps run inside one request are stored without
// that check (pkg/execution/checkpoint/checkpoint.go), so the limit bites at the next request
// only. The real limit (1,000) would spend minutes in the SDK's replay; the rule is the same with
// the limit lowered to 5, through the one-statement path for step results and the general path.
const quiet = { info: () => undefined, warn: () => undefined, error: () => undefined, debug: () => undefined };

let h: Harness;
let app: ServedApp;
beforeAll(async () => {
  h = await startHarness({ engine: { maxStepsPerRun: 5 } });
  // The product's setting (apps/server/src/inngest/client.ts): one step per request.
  const client = new Inngest({ id: "limits", isDev: true, baseUrl: h.engine.url, checkpointing: false, logger: quiet });
  app = await serveFunctions(client, [
    client.createFunction({ id: "many", triggers: [{ event: "limit/many" }] }, async ({ event, step }) => {
      let total = 0;
      for (let i = 0; i < Number(event.data.count); i += 1) total += await step.run(`s${i}`, () => 1);
      return total;
    }),
  ]);
  const synced = await h.engine.syncApp(app.url);
  if (!synced.ok) throw new Error(synced.message);
});
afterAll(async () => {
  await app?.close();
  await h?.close();
});

describe("the step limit, one step per request", () => {
  it("completes a run of limit - 1 steps", async () => {
    const run = await h.waitForRun((await h.runFor(await h.send("limit/many", { count: 4 }))).id);
    expect(run.status).toBe("Completed");
    expect(run.output).toBe(4);
  });

  it("fails a run of exactly `limit` steps after its last step, before the request that would return", async () => {
    const run = await h.waitForRun((await h.runFor(await h.send("limit/many", { count: 5 }))).id);
    expect(run.status).toBe("Failed");
    expect(run.error).toMatchObject({ name: "InngestErrFunctionOverflowed", message: "The function run exceeded the step limit of 5 steps." });
    expect(run.steps.filter((step) => step.memo !== null)).toHaveLength(5);
  });

  it("fails a longer run at the same point: no sixth step runs", async () => {
    const run = await h.waitForRun((await h.runFor(await h.send("limit/many", { count: 8 }))).id);
    expect(run.status).toBe("Failed");
    expect(run.steps.filter((step) => step.memo !== null).map((step) => step.name)).toEqual(["s0", "s1", "s2", "s3", "s4"]);
  });
});

describe("the step limit with checkpointing", () => {
  it("is checked at request boundaries only: steps checkpointed inside one request are not limited", async () => {
    // test/many in the conformance app (checkpointing on): eight steps and the result, one request.
    const run = await h.waitForRun((await h.runFor(await h.send("test/many", { count: 8 }))).id);
    expect(run.status).toBe("Completed");
    expect(run.output).toBe(8);
  });

  it("fails the run at the next request once the limit is reached (here: after a sleep)", async () => {
    const run = await h.waitForRun((await h.runFor(await h.send("test/many", { count: 6, sleepAfter: true }))).id);
    expect(run.status).toBe("Failed");
    expect(run.error).toMatchObject({ name: "InngestErrFunctionOverflowed" });
  });
});
