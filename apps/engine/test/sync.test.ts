import type { Server } from "node:http";
import type { AddressInfo } from "node:net";
import express from "express";
import { Inngest } from "inngest";
import { serve } from "inngest/express";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startEngine, VERIFIED_SDK } from "../src/index.ts";
import { eventually, startHarness, type Harness } from "./support/harness.ts";
import { serveFunctions, type ServedApp } from "./support/serve-app.ts";

const quiet = { info: () => undefined, warn: () => undefined, error: () => undefined, debug: () => undefined };

let h: Harness;
const apps: ServedApp[] = [];
beforeAll(async () => {
  h = await startHarness();
});
afterAll(async () => {
  await Promise.all(apps.map((app) => app.close()));
  await h?.close();
});

const clientFor = (id: string) => new Inngest({ id, isDev: true, baseUrl: h.engine.url, logger: quiet });

async function serveApp(client: Inngest.Any, functions: Parameters<typeof serveFunctions>[1]): Promise<ServedApp> {
  const app = await serveFunctions(client, functions);
  apps.push(app);
  return app;
}

describe("sync", () => {
  it("is verified against the pinned SDK, and the apps it syncs report that version", async () => {
    const { readFile } = await import("node:fs/promises");
    const sdkPackage = JSON.parse(await readFile(new URL("../node_modules/inngest/package.json", import.meta.url), "utf8")) as {
      version: string;
    };
    expect(`js:v${sdkPackage.version}`).toBe(VERIFIED_SDK);
    const { rows } = await h.pool.query<{ sdk: string }>(`SELECT sdk FROM engine.apps WHERE id = 'conformance'`);
    expect(rows[0]?.sdk).toBe(VERIFIED_SDK);
    expect(h.logs.some((line) => line.includes("engine warning"))).toBe(false);
  });

  it("fails a run loudly on an op it does not implement (step.invoke)", async () => {
    const { ids } = await h.client.send({ name: "test/invoke" });
    const run = await h.waitForRun((await h.runFor(ids[0]!)).id);
    expect(run.status).toBe("Failed");
    expect(run.error?.message).toBe("op InvokeFunction (call-child) is not supported by the local engine");
  });

  it("rejects an unsupported config key at sync, naming the function and the key", async () => {
    const appClient = clientFor("rejected");
    const app = await serveApp(appClient, [
      appClient.createFunction({ id: "fine", triggers: [{ event: "test/fine" }] }, () => "ok"),
      appClient.createFunction(
        { id: "throttled", triggers: [{ event: "test/throttled" }], throttle: { limit: 1, period: "1s" } },
        () => "ok",
      ),
    ]);
    const outcome = await h.engine.syncApp(app.url);
    expect(outcome).toEqual({
      ok: false,
      reachable: true,
      message: 'function "rejected-throttled": config key "throttle" is not supported by the local engine',
    });
    const { rows } = await h.pool.query(`SELECT id FROM engine.functions WHERE app_id = 'rejected'`);
    expect(rows).toEqual([]);
  });

  it("rejects a cron trigger, an env concurrency scope and an expression outside the CEL subset", async () => {
    const cronClient = clientFor("cron");
    const cron = await serveApp(cronClient, [cronClient.createFunction({ id: "nightly", triggers: [{ cron: "0 0 * * *" }] }, () => "ok")]);
    expect(await h.engine.syncApp(cron.url)).toMatchObject({
      ok: false,
      message: 'function "cron-nightly": trigger "cron" is not supported by the local engine',
    });

    const scopedClient = clientFor("scoped");
    const scoped = await serveApp(scopedClient, [
      scopedClient.createFunction(
        { id: "env-wide", triggers: [{ event: "test/x" }], concurrency: { limit: 1, scope: "env", key: '"all"' } },
        () => "ok",
      ),
    ]);
    expect(await h.engine.syncApp(scoped.url)).toMatchObject({
      ok: false,
      message: expect.stringContaining('function "scoped-env-wide": concurrency scope "env"'),
    });

    const macroClient = clientFor("macro");
    const macro = await serveApp(macroClient, [
      macroClient.createFunction(
        { id: "sizes", triggers: [{ event: "test/x" }], cancelOn: [{ event: "test/stop", if: "size(async.data.ids) > 0" }] },
        () => "ok",
      ),
    ]);
    expect(await h.engine.syncApp(macro.url)).toMatchObject({
      ok: false,
      message: expect.stringContaining('function "macro-sizes": cancelOn "test/stop" if is rejected'),
    });
  });

  it("accepts an out-of-band sync (PUT on the serve handler, SDK posts /fn/register) and answers a rejection in the body", async () => {
    const goodClient = clientFor("oob");
    const good = await serveApp(goodClient, [
      goodClient.createFunction({ id: "hello", triggers: [{ event: "test/oob" }] }, () => "hello from oob"),
    ]);
    const put = await fetch(good.url, { method: "PUT" });
    expect(put.status).toBe(200);
    const { ids } = await h.client.send({ name: "test/oob" });
    const run = await h.waitForRun((await h.runFor(ids[0]!)).id);
    expect(run.output).toBe("hello from oob");

    const badClient = clientFor("oob-bad");
    const bad = await serveApp(badClient, [
      badClient.createFunction({ id: "debounced", triggers: [{ event: "test/x" }], debounce: { period: "1s" } }, () => "ok"),
    ]);
    const rejected = await fetch(bad.url, { method: "PUT" });
    expect(rejected.status).toBe(400);
    expect(((await rejected.json()) as { message: string }).message).toContain(
      'function "oob-bad-debounced": config key "debounce" is not supported',
    );
  });

  it("keeps re-syncing the apps it was started with, so a restarted app's new functions are picked up", async () => {
    const v1 = clientFor("evolving");
    const first = await serveFunctions(v1, [v1.createFunction({ id: "old", triggers: [{ event: "test/old" }] }, () => "old")]);
    const port = new URL(first.url).port;
    const engine = await startEngine({ databaseUrl: h.db.url, appUrls: [first.url], resyncMs: 100, log: () => undefined });
    try {
      await engine.synced;
      await first.close();
      const v2 = clientFor("evolving");
      apps.push(await serveFunctions(v2, [v2.createFunction({ id: "new", triggers: [{ event: "test/new" }] }, () => "new")], Number(port)));
      await eventually("the new function to be synced", async () => {
        const { rows } = await h.pool.query<{ id: string }>(
          `SELECT id FROM engine.functions WHERE app_id = 'evolving' AND deleted_at IS NULL`,
        );
        return rows.length === 1 && rows[0]?.id === "evolving-new" ? true : undefined;
      });
    } finally {
      await engine.close();
    }
  });

  it("logs a change of an app it keeps re-syncing, not every re-sync (pnpm dev's 10 s heartbeat)", async () => {
    const puts = { count: 0 };
    const serveCounted = async (client: Inngest.Any, functions: Parameters<typeof serveFunctions>[1], port = 0): Promise<ServedApp> => {
      const app = express();
      app.use((req, _res, next) => {
        if (req.method === "PUT") puts.count += 1;
        next();
      });
      app.use(express.json());
      app.use("/api/inngest", serve({ client, functions }));
      const server = await new Promise<Server>((resolve) => {
        const listening = app.listen(port, "127.0.0.1", () => resolve(listening));
      });
      return {
        url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/api/inngest`,
        close: () =>
          new Promise<void>((resolve) => {
            server.close(() => resolve());
            server.closeAllConnections();
          }),
      };
    };
    const v1 = clientFor("heartbeat");
    const first = await serveCounted(v1, [v1.createFunction({ id: "one", triggers: [{ event: "test/hb-one" }] }, () => "one")]);
    const lines: string[] = [];
    const engine = await startEngine({ databaseUrl: h.db.url, appUrls: [first.url], resyncMs: 20, log: (line) => lines.push(line) });
    try {
      await engine.synced;
      const syncLines = () => lines.filter((line) => line.includes("heartbeat") || line.includes("sync"));
      await eventually("ten re-syncs", () => (puts.count >= 10 ? true : undefined));
      expect(syncLines()).toEqual([`engine synced app heartbeat at ${first.url}: heartbeat-one`]);

      // A change is logged once: the app restarts with another function on the same port.
      await first.close();
      const v2 = clientFor("heartbeat");
      const second = await serveCounted(
        v2,
        [v2.createFunction({ id: "two", triggers: [{ event: "test/hb-two" }] }, () => "two")],
        Number(new URL(first.url).port),
      );
      apps.push(second);
      // Overlapping syncs of the changed app (the periodic one and these) report the change once.
      await Promise.all(Array.from({ length: 4 }, () => engine.syncApp(second.url)));
      await eventually("the new function", () => (lines.some((line) => line.includes("heartbeat-two")) ? true : undefined));
      const seen = puts.count;
      await eventually("ten more re-syncs", () => (puts.count >= seen + 10 ? true : undefined));
      // Ten re-syncs later: the new config once, and at most the outage and its end (each a change).
      const after = syncLines().slice(1);
      expect(after.filter((line) => line.startsWith("engine synced app"))).toEqual([`engine synced app heartbeat at ${second.url}: heartbeat-two`]);
      expect(after.filter((line) => !line.startsWith("engine synced app")).every((line) => /^engine (could not re-sync|re-synced) /.test(line))).toBe(true);
      expect(after.every((line, index) => index === 0 || line !== after[index - 1])).toBe(true);
      expect(after.length).toBeLessThanOrEqual(4);
    } finally {
      await engine.close();
    }
  });

  it("fails a wait whose expression is outside the subset as a step error, as Inngest does", async () => {
    const appClient = clientFor("bad-wait");
    const app = await serveApp(appClient, [
      appClient.createFunction({ id: "waits", triggers: [{ event: "test/bad-wait" }] }, async ({ step }) => {
        try {
          await step.waitForEvent("w", { event: "test/any", if: "async.data.tags.exists(t, t == 'x')", timeout: "1m" });
          return "resumed";
        } catch (error) {
          return (error as Error).message;
        }
      }),
    ]);
    expect((await h.engine.syncApp(app.url)).ok).toBe(true);
    const { ids } = await h.client.send({ name: "test/bad-wait" });
    const run = await h.waitForRun((await h.runFor(ids[0]!)).id);
    expect(run.output).toMatch(/outside the supported CEL subset/);
  });
});
