/**
 * The server side of the SDK's async checkpointing, as Inngest implements it
 * (pkg/api/apiv1/checkpoint.go, pkg/execution/checkpoint/checkpoint.go): a discovery request
 * carries ctx.fn_id and ctx.qi_id, the SDK runs consecutive steps inside it and posts each result
 * to /v1/checkpoint/:runId/async before going on.
 */
import { Inngest } from "inngest";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { eventually, startHarness, type Harness } from "./support/harness.ts";
import { serveFunctions, type ServedApp } from "./support/serve-app.ts";

const quiet = { info: () => undefined, warn: () => undefined, error: () => undefined, debug: () => undefined };

let h: Harness;
const apps: ServedApp[] = [];
let attempts = 0;
let progressThrows = 0;
let heldStarted = false;
let releaseHeld: () => void = () => undefined;
let heldGate = new Promise<void>((resolve) => (releaseHeld = resolve));
function holdAgain(): void {
  heldStarted = false;
  heldGate = new Promise<void>((resolve) => (releaseHeld = resolve));
}
beforeAll(async () => {
  h = await startHarness();
  // An app that keeps the classic protocol, as the product's client does.
  const client = new Inngest({ id: "classic", isDev: true, baseUrl: h.engine.url, checkpointing: false, logger: quiet });
  const optedOut = await serveFunctions(client, [
    client.createFunction({ id: "ten", triggers: [{ event: "cp/classic" }] }, async ({ step }) => {
      let total = 0;
      for (let i = 0; i < 10; i += 1) total += await step.run(`s${i}`, () => i);
      return total;
    }),
  ]);
  apps.push(optedOut);
  const synced = await h.engine.syncApp(optedOut.url);
  if (!synced.ok) throw new Error(synced.message);
  // A function in the checkpointing conformance app whose third step fails once, after two
  // checkpointed steps.
  const cpClient = new Inngest({ id: "cp", isDev: true, baseUrl: h.engine.url, logger: quiet });
  const app = await serveFunctions(cpClient, [
    cpClient.createFunction({ id: "flaky", triggers: [{ event: "cp/flaky" }], retries: 1 }, async ({ step, attempt }) => {
      const a = await step.run("a", () => "a");
      const b = await step.run("b", () => "b");
      const c = await step.run("c", () => {
        attempts += 1;
        if (attempt === 0) throw new Error("once");
        return `c@${attempt}`;
      });
      return [a, b, c].join("");
    }),
    // Each request checkpoints one new step, then the function throws outside any step: with only
    // one retry, it completes only if each successful checkpoint resets the request's attempts.
    cpClient.createFunction({ id: "fails-after-progress", triggers: [{ event: "cp/progress" }], retries: 1 }, async ({ step }) => {
      for (let i = 0; i < 3; i += 1) {
        await step.run(`p${i}`, () => i);
        if (progressThrows <= i) {
          progressThrows += 1;
          throw new Error(`failed after checkpoint ${i}`);
        }
      }
      return "done";
    }),
    // Step "held" waits inside the request until the test lets it go, so the test can cancel the
    // run (or read the request's lease) while the request is still in flight.
    cpClient.createFunction({ id: "held", triggers: [{ event: "cp/held" }] }, async ({ step }) => {
      await step.run("first", () => "first");
      const held: string = await step.run("held", async (): Promise<string> => {
        heldStarted = true;
        await heldGate;
        return "held";
      });
      return held;
    }),
  ]);
  apps.push(app);
  const cpSynced = await h.engine.syncApp(app.url);
  if (!cpSynced.ok) throw new Error(cpSynced.message);
});
afterAll(async () => {
  await Promise.all(apps.map((app) => app.close()));
  await h?.close();
});

describe("checkpointing", () => {
  it("runs a sequential function in one request, each step checkpointed and committed before the next", async () => {
    const before = h.engine.stats();
    const run = await h.waitForRun((await h.runFor(await h.send("test/sequential", { n: 3 }))).id);
    const after = h.engine.stats();
    expect(run.status).toBe("Completed");
    expect(run.output).toEqual({ c: "a:3+b+c" });
    expect(run.steps.map((step) => [step.name, step.memo])).toEqual([
      ["a", { data: "a:3" }],
      ["b", { data: "a:3+b" }],
      ["c", { data: "a:3+b+c" }],
    ]);
    expect(after.calls - before.calls).toBe(1);
    expect(after.checkpoints - before.checkpoints).toBe(3);
  });

  it("an app with checkpointing: false gets one request per step, with the same results", async () => {
    const before = h.engine.stats();
    const run = await h.waitForRun((await h.runFor(await h.send("cp/classic"))).id);
    const after = h.engine.stats();
    expect(run.output).toBe(45);
    expect(after.calls - before.calls).toBe(11);
    expect(after.checkpoints - before.checkpoints).toBe(0);
  });

  it("a step that fails after checkpointed steps is retried without running them again", async () => {
    const run = await h.waitForRun((await h.runFor(await h.send("cp/flaky"))).id);
    expect(run.status).toBe("Completed");
    expect(run.output).toBe("abc@1");
    expect(attempts).toBe(2);
    expect(run.steps.find((step) => step.name === "a")?.attempts).toBe(1);
  });

  it("answers 409 (stale dispatch) to a checkpoint whose request no longer holds its lease, and stores nothing", async () => {
    const run = await h.runFor(await h.send("test/wait", { id: "cp-stale" }));
    await h.waitForRun(run.id, (view) => view.waits.some((wait) => wait.kind === "event" && wait.resolution === null));
    const post = (qiId: string) =>
      fetch(`${h.engine.url}/v1/checkpoint/${run.id}/async`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ run_id: run.id, fn_id: "x", qi_id: qiId, steps: [{ id: "f".repeat(40), op: "StepRun", name: "intruder", data: 1 }] }),
      });
    expect((await post("999999.1")).status).toBe(409);
    expect((await post("garbage")).status).toBe(400);
    await eventually("the run to stay as it was", async () => ((await h.getRun(run.id)).steps.some((step) => step.name === "intruder") ? undefined : true));
  });

  it("a successful checkpoint starts the request's attempts again from 0: a function that fails once after each new step still completes with one retry", async () => {
    const run = await h.waitForRun((await h.runFor(await h.send("cp/progress"))).id);
    expect(run.status).toBe("Completed");
    expect(run.output).toBe("done");
    expect(progressThrows).toBe(3);
    // Three failed requests with a budget of two attempts: only the resets let the third one run.
    expect(run.steps.map((step) => step.name).filter((name) => name.startsWith("p"))).toEqual(["p0", "p1", "p2"]);
  });

  /** The lease of the request running `runId`'s held step, as the SDK's ctx.qi_id names it. */
  async function heldLease(runId: string): Promise<string> {
    await eventually("the held step to start", () => (heldStarted ? true : undefined));
    const { rows } = await h.pool.query<{ id: string; lease_owner: number }>(
      "SELECT id::text, lease_owner FROM engine.jobs WHERE run_id = $1 AND kind = 'call' AND lease_owner IS NOT NULL",
      [runId],
    );
    expect(rows).toHaveLength(1);
    return `${rows[0]!.id}.${rows[0]!.lease_owner}`;
  }
  const checkpoint = (runId: string, qiId: string, name: string) =>
    fetch(`${h.engine.url}/v1/checkpoint/${runId}/async`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ run_id: runId, fn_id: "x", qi_id: qiId, steps: [{ id: "e".repeat(40), op: "StepRun", name, data: 1 }] }),
    });

  it("a checkpoint for a run that ended while its request still held the lease is 409 (stale), and stores nothing", async () => {
    holdAgain();
    const run = await h.runFor(await h.send("cp/held"));
    const qiId = await heldLease(run.id);
    // The lease is live: the same post would be accepted now. Cancel the run under the request.
    expect((await fetch(`${h.engine.url}/v1/runs/${run.id}`, { method: "DELETE" })).status).toBe(200);
    expect((await checkpoint(run.id, qiId, "after-cancel")).status).toBe(409);
    releaseHeld();
    const ended = await h.waitForRun(run.id, (view) => view.status === "Cancelled");
    await new Promise((resolve) => setTimeout(resolve, 300));
    const after = await h.getRun(ended.id);
    expect(after.status).toBe("Cancelled");
    expect(after.steps.map((step) => step.name)).not.toContain("after-cancel");
    expect(after.steps.map((step) => step.name)).not.toContain("held");
  });

  it("a checkpoint that arrives after its request's answer was applied (the lease is gone) is 409, and stores nothing", async () => {
    holdAgain();
    const run = await h.runFor(await h.send("cp/held"));
    const qiId = await heldLease(run.id);
    releaseHeld();
    const done = await h.waitForRun(run.id, (view) => view.status === "Completed");
    expect(done.output).toBe("held");
    expect((await checkpoint(run.id, qiId, "late")).status).toBe(409);
    expect((await h.getRun(run.id)).steps.map((step) => step.name)).toEqual(["first", "held"]);
  });
});
