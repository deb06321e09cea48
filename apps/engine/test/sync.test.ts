import { Inngest } from "inngest";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startHarness, type Harness } from "./support/harness.ts";
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

async function serveApp(id: string, define: (client: Inngest.Any) => Parameters<typeof serveFunctions>[1]): Promise<ServedApp> {
  const client = new Inngest({ id, isDev: true, baseUrl: h.engine.url, logger: quiet });
  const app = await serveFunctions(client, define(client));
  apps.push(app);
  return app;
}

describe("sync", () => {
  it("rejects an unsupported config key at sync, naming the function and the key", async () => {
    const app = await serveApp("rejected", (client) => [
      client.createFunction({ id: "fine", triggers: [{ event: "test/fine" }] }, () => "ok"),
      client.createFunction({ id: "throttled", triggers: [{ event: "test/throttled" }], throttle: { limit: 1, period: "1s" } }, () => "ok"),
    ]);
    const outcome = await h.engine.syncApp(app.url);
    expect(outcome).toEqual({ ok: false, reachable: true, message: 'function "rejected-throttled": config key "throttle" is not supported by the local engine' });
    const { rows } = await h.pool.query(`SELECT id FROM engine.functions WHERE app_id = 'rejected'`);
    expect(rows).toEqual([]);
  });

  it("rejects a cron trigger, an env concurrency scope and an expression outside the CEL subset", async () => {
    const cron = await serveApp("cron", (client) => [client.createFunction({ id: "nightly", triggers: [{ cron: "0 0 * * *" }] }, () => "ok")]);
    expect(await h.engine.syncApp(cron.url)).toMatchObject({ ok: false, message: 'function "cron-nightly": trigger "cron" is not supported by the local engine' });

    const scoped = await serveApp("scoped", (client) => [
      client.createFunction({ id: "env-wide", triggers: [{ event: "test/x" }], concurrency: { limit: 1, scope: "env", key: '"all"' } }, () => "ok"),
    ]);
    expect(await h.engine.syncApp(scoped.url)).toMatchObject({ ok: false, message: expect.stringContaining('function "scoped-env-wide": concurrency scope "env"') });

    const macro = await serveApp("macro", (client) => [
      client.createFunction({ id: "sizes", triggers: [{ event: "test/x" }], cancelOn: [{ event: "test/stop", if: "size(async.data.ids) > 0" }] }, () => "ok"),
    ]);
    expect(await h.engine.syncApp(macro.url)).toMatchObject({
      ok: false,
      message: expect.stringContaining('function "macro-sizes": cancelOn "test/stop" if is rejected'),
    });
  });

  it("accepts an out-of-band sync (PUT on the serve handler, SDK posts /fn/register) and answers a rejection in the body", async () => {
    const good = await serveApp("oob", (client) => [client.createFunction({ id: "hello", triggers: [{ event: "test/oob" }] }, () => "hello from oob")]);
    const put = await fetch(good.url, { method: "PUT" });
    expect(put.status).toBe(200);
    const { ids } = await h.client.send({ name: "test/oob" });
    const run = await h.waitForRun((await h.runFor(ids[0]!)).id);
    expect(run.output).toBe("hello from oob");

    const bad = await serveApp("oob-bad", (client) => [
      client.createFunction({ id: "debounced", triggers: [{ event: "test/x" }], debounce: { period: "1s" } }, () => "ok"),
    ]);
    const rejected = await fetch(bad.url, { method: "PUT" });
    expect(rejected.status).toBe(400);
    expect(((await rejected.json()) as { message: string }).message).toContain('function "oob-bad-debounced": config key "debounce" is not supported');
  });

  it("fails a wait whose expression is outside the subset as a step error, as Inngest does", async () => {
    const app = await serveApp("bad-wait", (client) => [
      client.createFunction({ id: "waits", triggers: [{ event: "test/bad-wait" }] }, async ({ step }) => {
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
