import { Inngest } from "inngest";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startHarness, type Harness } from "./support/harness.ts";
import { serveFunctions } from "./support/serve-app.ts";

let h: Harness;
beforeAll(async () => {
  h = await startHarness({ engine: { connectionErrorBudget: 3 } });
});
afterAll(async () => {
  await h?.close();
});

describe("an unreachable app", () => {
  it("is retried without using attempts, up to the connection-error budget; then it fails the run", async () => {
    const client = new Inngest({
      id: "gone",
      isDev: true,
      baseUrl: h.engine.url,
      logger: { info: () => undefined, warn: () => undefined, error: () => undefined, debug: () => undefined },
    });
    const app = await serveFunctions(client, [
      client.createFunction({ id: "once", triggers: [{ event: "test/gone" }], retries: 0 }, () => "never"),
    ]);
    expect((await h.engine.syncApp(app.url)).ok).toBe(true);
    await app.close();

    const run = await h.waitForRun((await h.runFor(await h.send("test/gone"))).id);
    // With retries: 0, Inngest would fail the run at the first refused connection; here the
    // first three are free and the fourth counts as the run's only attempt.
    expect(run.status).toBe("Failed");
    expect(run.error?.message).toMatch(/^the app was unreachable 4 times in a row: .*ECONNREFUSED/);
    const tries = h.logs.filter((line) => line.includes(run.id.slice(-8)) && line.includes("app unreachable"));
    expect(tries).toHaveLength(3);
  });
});
