/**
 * Checkpointing on an engine process whose lease owner has ten digits. Owners are drawn from
 * 1 … 2^31 - 2 (queue/worker.ts), so more than half of all engine processes have one, and every
 * discovery request carries it in ctx.qi_id (`<job>.<owner>`). Until 01e4832 the checkpoint route
 * refused such a qi_id as malformed (400): the SDK then tried each checkpoint five times (backoff
 * 100, 200, 400, 800 ms plus jitter: SDK components/execution/engine.js CHECKPOINT_RETRY_OPTIONS,
 * helpers/promises.js retryWithBackoff) and fell back to answering the step in its 206, so a step
 * followed by step.waitForEvent parked 1.5 s or more late (the orchestrator's late park in
 * docs/decisions/engine-checkpointing.md). Inngest never refuses a queue item reference it issued
 * (pkg/execution/checkpoint/checkpoint.go decodes it, and fails open when it cannot).
 *
 * The owner is pinned here (the largest one randomInt(1, 2 ** 31 - 1) can draw), so this does not
 * depend on the draw; the test checks that the pin took effect.
 */
import type * as Crypto from "node:crypto";
import { Inngest } from "inngest";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { startHarness, type Harness, type RunView } from "./support/harness.ts";
import { serveFunctions, type ServedApp } from "./support/serve-app.ts";

const TEN_DIGIT_OWNER = 2 ** 31 - 2;

vi.mock("node:crypto", async (importOriginal) => {
  const actual = await importOriginal<typeof Crypto>();
  const randomInt = ((...args: unknown[]) =>
    args.length === 2 && args[0] === 1 && args[1] === 2 ** 31 - 1
      ? TEN_DIGIT_OWNER
      : (actual.randomInt as (...rest: unknown[]) => number)(...args)) as typeof actual.randomInt;
  return { ...actual, randomInt, default: { ...actual, randomInt } };
});

const parkedOnWait = (run: RunView) => run.waits.some((wait) => wait.kind === "event" && wait.resolution === null);
const quiet = { info: () => undefined, warn: () => undefined, error: () => undefined, debug: () => undefined };

let h: Harness;
let app: ServedApp;
beforeAll(async () => {
  h = await startHarness();
  // Checkpointing as the SDK defaults to it (on): the product's orchestrator pattern, a step whose
  // result decides whether the run parks on a wait.
  const client = new Inngest({ id: "owner", isDev: true, baseUrl: h.engine.url, logger: quiet });
  app = await serveFunctions(client, [
    client.createFunction({ id: "step-then-wait", triggers: [{ event: "owner/start" }] }, async ({ step }) => {
      const chunk = await step.run("chunk", () => ({ status: "paused" }));
      const resumed = await step.waitForEvent("wait-resume", { event: "owner/resume", match: "data.key", timeout: "1h" });
      return { chunk: chunk.status, resumed: resumed?.data.key ?? null };
    }),
  ]);
  const synced = await h.engine.syncApp(app.url);
  if (!synced.ok) throw new Error(synced.message);
});
afterAll(async () => {
  await app?.close();
  await h?.close();
});

describe("checkpointing on an engine process with a ten-digit lease owner", () => {
  it("the engine under test holds the pinned owner", async () => {
    const { rows } = await h.pool.query<{ owner: string }>(
      `SELECT objid::text AS owner FROM pg_locks
       WHERE locktype = 'advisory' AND objsubid = 2 AND classid = $1 AND database = (SELECT oid FROM pg_database WHERE datname = current_database())`,
      [0x656e67],
    );
    expect(rows.map((row) => Number(row.owner))).toEqual([TEN_DIGIT_OWNER]);
  });

  it("accepts the SDK's checkpoint, so a step followed by waitForEvent parks in one request, at once", async () => {
    const before = h.engine.stats();
    const started = Date.now();
    const run = await h.runFor(await h.send("owner/start", { key: "k1" }));
    const parked = await h.waitForRun(run.id, parkedOnWait, 10_000);
    const parkedAfterMs = Date.now() - started;
    const after = h.engine.stats();
    // One discovery request: the step checkpointed once (accepted), the wait in the same request's 206.
    // Refused, it is five posts of the same step, then a second request to find the wait.
    expect(after.checkpoints - before.checkpoints).toBe(1);
    expect(after.calls - before.calls).toBe(1);
    expect(parked.steps.find((step) => step.name === "chunk")).toMatchObject({ memo: { data: { status: "paused" } }, attempts: 1 });
    // The SDK's four retry sleeps alone take at least 1.5 s; accepted, parking takes a few tens of ms
    // (measured by the engine's own clock from the run's creation to the wait's, and by the test's).
    const { rows } = await h.pool.query<{ ms: number }>(
      `SELECT extract(epoch FROM (w.created_at - r.created_at)) * 1000 AS ms
       FROM engine.waits w JOIN engine.runs r ON r.id = w.run_id WHERE w.run_id = $1 AND w.kind = 'event'`,
      [run.id],
    );
    expect(Number(rows[0]?.ms)).toBeLessThan(1_500);
    expect(parkedAfterMs).toBeLessThan(1_500);

    await h.send("owner/resume", { key: "k1" });
    const done = await h.waitForRun(run.id);
    expect(done.status).toBe("Completed");
    expect(done.output).toEqual({ chunk: "paused", resumed: "k1" });
  });

  it("a refused checkpoint is logged: the SDK only shows it as latency (five tries, then the step in its response)", async () => {
    const run = await h.runFor(await h.send("owner/start", { key: "k2" }));
    await h.waitForRun(run.id, parkedOnWait, 10_000);
    const response = await fetch(`${h.engine.url}/v1/checkpoint/${run.id}/async`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ run_id: run.id, qi_id: "not-a-lease", steps: [] }),
    });
    expect(response.status).toBe(400);
    expect(h.logs.some((line) => line.includes(`checkpoint for run ${run.id} refused (400): qi_id is missing or malformed`))).toBe(true);
    await h.send("owner/resume", { key: "k2" });
    expect((await h.waitForRun(run.id)).status).toBe("Completed");
  });
});
