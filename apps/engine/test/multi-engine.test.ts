import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startEngine, type EngineHandle } from "../src/index.ts";
import { startHarness, type Harness } from "./support/harness.ts";
import { stepPathOptions } from "./support/step-path.ts";

let h: Harness;
let second: EngineHandle;
const secondLogs: string[] = [];
beforeAll(async () => {
  h = await startHarness();
  second = await startEngine({ databaseUrl: h.db.url, backoffScale: 0.01, log: (line) => secondLogs.push(line), ...stepPathOptions() });
});
afterAll(async () => {
  await second?.close();
  await h?.close();
});

describe("two engine processes on one database", () => {
  it("share the work through leases: every run completes and every step runs exactly once", async () => {
    // Half of the events go to each engine's event API; each engine leases the calls its own
    // transactions create, and picks up the rest through NOTIFY, its poll and SKIP LOCKED.
    const sendTo = async (url: string, name: string, data: Record<string, unknown>) => {
      const response = await fetch(`${url}/e/key`, { method: "POST", body: JSON.stringify([{ name, data }]) });
      return ((await response.json()) as { ids: string[] }).ids[0]!;
    };
    const engines = [h.engine.url, second.url];
    const sequential = await Promise.all(Array.from({ length: 12 }, (_, n) => sendTo(engines[n % 2]!, "test/sequential", { n })));
    const parallel = await Promise.all(Array.from({ length: 6 }, (_, n) => sendTo(engines[n % 2]!, "test/parallel", {})));
    const runs = await Promise.all([...sequential, ...parallel].map(async (eventId) => h.waitForRun((await h.runFor(eventId)).id)));
    expect(runs.every((run) => run.status === "Completed")).toBe(true);
    for (const run of runs) {
      const steps = run.function_id === "conformance-sequential" ? ["a", "b", "c"] : ["part-x", "part-y", "part-z"];
      expect(steps.map((step) => h.probe.ran(run.id, step))).toEqual([1, 1, 1]);
    }
    expect(secondLogs.some((line) => line.includes("completed"))).toBe(true);
    expect(h.logs.some((line) => line.includes("completed"))).toBe(true);
  });
});
