import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { findFreePort, startEmbeddedPostgres, type EmbeddedPostgresHandle } from "@batchgen/db";
import { Inngest } from "inngest";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startEngine, type EngineHandle } from "../src/index.ts";
import { eventually, fetchJson } from "./support/harness.ts";
import { serveFunctions, type ServedApp } from "./support/serve-app.ts";
import { stepPathOptions } from "./support/step-path.ts";

// Its own PostgreSQL cluster, because this test stops it (the shared one serves other files).
let root: string;
let database: EmbeddedPostgresHandle;
let engine: EngineHandle;
let app: ServedApp;
const logs: string[] = [];

beforeAll(async () => {
  root = await mkdtemp(path.join(tmpdir(), "engine-outage-"));
  database = await startEmbeddedPostgres({ dataDir: path.join(root, "data"), port: await findFreePort(), persistent: false });
  engine = await startEngine({ databaseUrl: database.url, backoffScale: 0.01, log: (line) => logs.push(line), ...stepPathOptions() });
  const client = new Inngest({
    id: "outage",
    isDev: true,
    baseUrl: engine.url,
    logger: { info: () => undefined, warn: () => undefined, error: () => undefined, debug: () => undefined },
  });
  const steady = client.createFunction({ id: "steady", triggers: [{ event: "test/steady" }] }, async ({ event, step }) => {
    let total = 0;
    for (let i = 0; i < 15; i += 1) {
      total += await step.run(`s${i}`, async () => {
        await new Promise((resolve) => setTimeout(resolve, 60));
        return i;
      });
    }
    return { id: event.data.id as string, total };
  });
  app = await serveFunctions(client, [steady]);
  expect((await engine.syncApp(app.url)).ok).toBe(true);
}, 60_000);

afterAll(async () => {
  await engine?.close();
  await app?.close();
  await database?.stop();
  await rm(root, { recursive: true, force: true });
});

interface RunList {
  data: { id: string; status: string; output: { id: string; total: number } | null }[];
}

describe("a database outage in the middle of runs", () => {
  it("stalls the engine, and once PostgreSQL is back every run completes with the right output", async () => {
    for (const id of ["o-1", "o-2", "o-3"]) {
      await fetch(`${engine.url}/e/key`, { method: "POST", body: JSON.stringify([{ name: "test/steady", data: { id } }]) });
    }
    await eventually("a few steps to complete", () => (logs.filter((line) => line.includes("completed")).length >= 4 ? true : undefined));
    await database.pause();
    await new Promise((resolve) => setTimeout(resolve, 3_000));
    await database.start();
    const runs = await eventually(
      "every run to complete",
      async () => {
        const list = await fetchJson<RunList>(`${engine.url}/v1/runs?function_id=outage-steady`).catch(() => undefined);
        return list && list.data.length === 3 && list.data.every((run) => run.status === "Completed") ? list.data : undefined;
      },
      60_000,
      () => logs.slice(-30).join("\n"),
    );
    expect(runs.map((run) => run.output).sort((a, b) => (a?.id ?? "").localeCompare(b?.id ?? ""))).toEqual([
      { id: "o-1", total: 105 },
      { id: "o-2", total: 105 },
      { id: "o-3", total: 105 },
    ]);
  }, 90_000);
});
