/**
 * Behaviours checked against Inngest's own server source (inngest/inngest): each test drives real
 * SDK v4 functions through the engine over HTTP. The README's protocol table names the files.
 */
import type { Server } from "node:http";
import type { AddressInfo } from "node:net";
import express from "express";
import { Inngest } from "inngest";
import { serve } from "inngest/express";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { eventually, startHarness, type Harness, type RunView } from "./support/harness.ts";

const quiet = { info: () => undefined, warn: () => undefined, error: () => undefined, debug: () => undefined };

let h: Harness;
let client: Inngest.Any;
let server: Server;
let appUrl: string;
/** What the functions and the app's middleware saw. */
const seen = {
  jobIds: [] as { step: string; attempt: number; jobId: string | undefined }[],
  sessions: new Map<string, unknown>(),
  middlewareAttempts: [] as number[],
};

beforeAll(async () => {
  h = await startHarness();
  client = new Inngest({ id: "fidelity", isDev: true, baseUrl: h.engine.url, logger: quiet });
  let failedOnce = false;
  const functions = [
    client.createFunction({ id: "job-ids", triggers: [{ event: "fid/job-ids" }], retries: 2 }, async ({ step, jobId, attempt }) => {
      await step.run("a", () => {
        seen.jobIds.push({ step: "a", attempt, jobId });
        if (!failedOnce) {
          failedOnce = true;
          throw new Error("first attempt fails");
        }
        return 1;
      });
      await step.run("b", () => {
        seen.jobIds.push({ step: "b", attempt, jobId });
        return 2;
      });
      return "done";
    }),
    client.createFunction({ id: "session-parent", triggers: [{ event: "fid/session-parent" }] }, async ({ step, event }) => {
      await step.sendEvent("spawn", {
        name: "fid/session-child",
        data: { tag: event.data.tag },
        meta: { sessions: event.data.childSessions as Record<string, string | null> | null },
      });
    }),
    client.createFunction({ id: "session-child", triggers: [{ event: "fid/session-child" }] }, ({ event, sessions }) => {
      seen.sessions.set(String(event.data.tag), sessions ?? null);
      return sessions ?? null;
    }),
    client.createFunction({ id: "behind-middleware", triggers: [{ event: "fid/middleware" }], retries: 1 }, async ({ step }) => {
      await step.run("never", () => "unreachable");
    }),
    // The orchestrator's pattern: cancelled by a newer epoch of its own trigger event.
    client.createFunction(
      {
        id: "epoch",
        triggers: [{ event: "fid/epoch" }],
        cancelOn: [{ event: "fid/epoch", if: "async.data.batchId == event.data.batchId && async.data.epoch > event.data.epoch" }],
      },
      async ({ step, event }) => {
        const resumed = await step.waitForEvent("resume", {
          event: "fid/resume",
          if: `async.data.batchId == event.data.batchId`,
          timeout: "1d",
        });
        return { epoch: event.data.epoch as number, resumedBy: resumed?.data.by ?? null };
      },
    ),
  ];
  const app = express();
  app.use(express.json({ limit: "20mb" }));
  // A middleware that throws in front of the serve handler for one function: Express answers 500
  // without the SDK's headers, as a crashing auth or body-parsing middleware would.
  app.use("/api/inngest", (req, _res, next) => {
    if (req.method === "POST" && req.query.fnId === "fidelity-behind-middleware") {
      seen.middlewareAttempts.push(Number((req.body as { ctx?: { attempt?: number } }).ctx?.attempt));
      next(new Error("middleware exploded"));
      return;
    }
    next();
  });
  app.use("/api/inngest", serve({ client, functions }));
  server = await new Promise<Server>((resolve) => {
    const listening = app.listen(0, "127.0.0.1", () => resolve(listening));
  });
  appUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}/api/inngest`;
  const synced = await h.engine.syncApp(appUrl);
  if (!synced.ok) throw new Error(synced.message);
});

afterAll(async () => {
  await new Promise<void>((resolve) => {
    server?.close(() => resolve());
    server?.closeAllConnections();
  });
  await h?.close();
});

const send = async (name: string, data: Record<string, unknown>, id?: string): Promise<string> => {
  const { ids } = await client.send({ name, data, ...(id ? { id } : {}) });
  return ids[0] ?? "";
};
const hasOpenWait = (run: RunView) => run.waits.some((wait) => wait.kind === "event" && wait.resolution === null);

describe("x-inngest-job-id (ctx.jobId)", () => {
  it("is the job's key: the same on every attempt of one request, another for the next request", async () => {
    const run = await h.waitForRun((await h.runFor(await send("fid/job-ids", {}))).id);
    expect(run.status).toBe("Completed");
    const [first, retry, second] = seen.jobIds;
    expect(first).toMatchObject({ step: "a", attempt: 0 });
    expect(retry).toMatchObject({ step: "a", attempt: 1 });
    expect(second).toMatchObject({ step: "b", attempt: 0 });
    expect(first?.jobId).toEqual(expect.any(String));
    expect(retry?.jobId).toBe(first?.jobId);
    expect(second?.jobId).toEqual(expect.any(String));
    expect(second?.jobId).not.toBe(first?.jobId);
    // Inngest's shapes (executor.go): the run's first request is "<fn>:<event id>", the request
    // after a step "<fn>:<run>-<step hash>".
    const eventId = (run as unknown as { event: { id: string } }).event.id;
    expect(first?.jobId).toBe(`fidelity-job-ids:${eventId}`);
    expect(second?.jobId).toMatch(new RegExp(`^fidelity-job-ids:${run.id}-[0-9a-f]{40}$`));
  });
});

describe("session propagation", () => {
  it("merges the parent's sessions into an event sent from a run; sessions set by hand win per key", async () => {
    // The parent is triggered with sessions, so it has something to propagate.
    const { ids } = await client.send({
      name: "fid/session-parent",
      data: { tag: "merge-2", childSessions: { org: "o-2", extra: "x" } },
      meta: { sessions: { user: "u-1", org: "o-1" } },
    });
    await h.waitForRun((await h.runFor(ids[0]!)).id);
    const child = await eventually("the child run", () => seen.sessions.get("merge-2"));
    expect(child).toEqual({ user: "u-1", org: "o-2", extra: "x" });
  });

  it("a key set to null by hand cuts the inherited one; sessions: null cuts them all", async () => {
    const cut = await client.send({
      name: "fid/session-parent",
      data: { tag: "cut", childSessions: { user: null } },
      meta: { sessions: { user: "u-1", org: "o-1" } },
    });
    const clear = await client.send({
      name: "fid/session-parent",
      data: { tag: "clear", childSessions: null },
      meta: { sessions: { user: "u-1", org: "o-1" } },
    });
    await h.waitForRun((await h.runFor(cut.ids[0]!)).id);
    await h.waitForRun((await h.runFor(clear.ids[0]!)).id);
    expect(await eventually("the cut child", () => seen.sessions.get("cut"))).toEqual({ org: "o-1" });
    expect(await eventually("the cleared child", () => seen.sessions.get("clear"))).toBeNull();
    // Only the merged layer is stored; propagated_sessions never reaches a run.
    const { rows } = await h.pool.query<{ meta: unknown }>(
      `SELECT body->'meta' AS meta FROM engine.events WHERE name = 'fid/session-child' AND body->'data'->>'tag' = 'cut'`,
    );
    expect(rows).toEqual([{ meta: { sessions: { org: "o-1" } } }]);
  });
});

describe("a 5xx without the SDK's header", () => {
  it("is a failed attempt (the app is up; its middleware threw): the run fails after its attempts", async () => {
    const run = await h.waitForRun((await h.runFor(await send("fid/middleware", {}))).id);
    expect(run.status).toBe("Failed");
    expect(run.error).toMatchObject({
      name: "Server returned a fatal error",
      message: "Your server returned HTTP 500 before the SDK responded.",
    });
    // retries: 1 → two attempts, numbered as the SDK sees them; no connection-error budget spent.
    expect(seen.middlewareAttempts).toEqual([0, 1]);
    expect(h.logs.some((line) => line.includes(run.id.slice(-8)) && line.includes("app unreachable"))).toBe(false);
  });
});

describe("event ids", () => {
  it("a repeated event id starts no second run, but still resumes a wait", async () => {
    const first = await h.runFor(await h.send("test/wait", { id: "dup-wait-1" }));
    await h.waitForRun(first.id, hasOpenWait);
    await h.client.send({ id: "approval-dup", name: "test/approve", data: { id: "dup-wait-1", by: "first" } });
    expect((await h.waitForRun(first.id)).output).toEqual({ approvedBy: "first" });

    const second = await h.runFor(await h.send("test/wait", { id: "dup-wait-1" }));
    await h.waitForRun(second.id, hasOpenWait);
    await h.client.send({ id: "approval-dup", name: "test/approve", data: { id: "dup-wait-1", by: "again" } });
    expect((await h.waitForRun(second.id)).output).toEqual({ approvedBy: "again" });
  });

  it("a repeated event id still cancels", async () => {
    const first = await h.runFor(await h.send("test/cancellable", { id: "dup-cancel" }));
    await h.waitForRun(first.id, hasOpenWait);
    await h.client.send({ id: "cancel-dup", name: "test/cancel", data: { id: "dup-cancel" } });
    expect((await h.waitForRun(first.id)).status).toBe("Cancelled");

    const second = await h.runFor(await h.send("test/cancellable", { id: "dup-cancel" }));
    await h.waitForRun(second.id, hasOpenWait);
    await h.client.send({ id: "cancel-dup", name: "test/cancel", data: { id: "dup-cancel" } });
    expect((await h.waitForRun(second.id)).status).toBe("Cancelled");
  });

  it("an event whose id is older than the run does not cancel it", async () => {
    const run = await h.runFor(await h.send("test/cancellable", { id: "old-cancel" }));
    await h.waitForRun(run.id, hasOpenWait);
    // An id seeded (x-inngest-event-id-seed) from before the run started: Inngest skips
    // cancellations for events not newer than the run (executor.go, `evtID <= RunID`).
    const seed = `${Date.parse((run as unknown as { created_at: string }).created_at) - 60_000},${Buffer.alloc(10, 7).toString("base64")}`;
    const response = await fetch(`${h.engine.url}/e/key`, {
      method: "POST",
      headers: { "x-inngest-event-id-seed": seed },
      body: JSON.stringify([{ name: "test/cancel", data: { id: "old-cancel" } }]),
    });
    expect(response.status).toBe(200);
    await h.send("test/approve", { id: "unrelated" });
    expect((await h.getRun(run.id)).status).toBe("Running");
    await h.send("test/cancel", { id: "old-cancel" });
    expect((await h.waitForRun(run.id)).status).toBe("Cancelled");
  });
});

describe("cancelOn on the function's own trigger event, with a long waitForEvent", () => {
  it("a newer epoch cancels the older run and not itself; a stale epoch cancels nothing", async () => {
    const one = await h.runFor(await send("fid/epoch", { batchId: "b-1", epoch: 1 }));
    await h.waitForRun(one.id, hasOpenWait);
    const two = await h.runFor(await send("fid/epoch", { batchId: "b-1", epoch: 2 }));
    expect((await h.waitForRun(one.id)).status).toBe("Cancelled");
    await h.waitForRun(two.id, hasOpenWait);
    expect((await h.getRun(two.id)).status).toBe("Running");

    // Another batch's epoch and a stale epoch of this batch cancel nothing (the stale one starts
    // its own run, which the function must end itself).
    await send("fid/epoch", { batchId: "b-2", epoch: 9 });
    const stale = await h.runFor(await send("fid/epoch", { batchId: "b-1", epoch: 1 }));
    await h.waitForRun(stale.id, hasOpenWait);
    expect((await h.getRun(two.id)).status).toBe("Running");

    await send("fid/resume", { batchId: "b-1", by: "resume" });
    expect((await h.waitForRun(two.id)).output).toEqual({ epoch: 2, resumedBy: "resume" });
    // The wait of a "1d" timeout was registered with its full expiry.
    const { rows } = await h.pool.query<{ hours: number }>(
      `SELECT extract(epoch FROM expires_at - created_at) / 3600 AS hours FROM engine.waits WHERE run_id = $1 AND kind = 'event'`,
      [two.id],
    );
    expect(Math.round(Number(rows[0]?.hours))).toBe(24);
  });
});
