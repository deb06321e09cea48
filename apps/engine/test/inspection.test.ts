import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { fetchJson, startHarness, type Harness } from "./support/harness.ts";

let h: Harness;
beforeAll(async () => {
  h = await startHarness();
});
afterAll(async () => {
  await h?.close();
});

interface RunList {
  data: { id: string; function_id: string; status: string }[];
  next_cursor: string | null;
}

describe("inspection API", () => {
  it("GET /health answers ok", async () => {
    expect(await fetchJson(`${h.engine.url}/health`)).toEqual({ status: "ok" });
  });

  it("GET /v1/runs filters by function and status and pages with a cursor", async () => {
    const eventIds = await Promise.all([1, 2, 3].map((n) => h.send("test/sequential", { n })));
    await Promise.all(eventIds.map(async (id) => h.waitForRun((await h.runFor(id)).id)));
    await h.waitForRun((await h.runFor(await h.send("test/fatal"))).id);

    const first = await fetchJson<RunList>(`${h.engine.url}/v1/runs?function_id=conformance-sequential&limit=2`);
    expect(first.data).toHaveLength(2);
    expect(first.next_cursor).toBe(first.data[1]!.id);
    const second = await fetchJson<RunList>(
      `${h.engine.url}/v1/runs?function_id=conformance-sequential&limit=2&cursor=${first.next_cursor}`,
    );
    expect(second.data).toHaveLength(1);
    expect(second.next_cursor).toBeNull();
    expect(new Set([...first.data, ...second.data].map((run) => run.id)).size).toBe(3);

    const failed = await fetchJson<RunList>(`${h.engine.url}/v1/runs?status=failed`);
    expect(failed.data.map((run) => run.function_id)).toEqual(["conformance-fatal"]);
  });

  it("GET /v1/runs/:id shows steps, waits, output and errors; unknown ids are 404", async () => {
    const run = await h.runFor(await h.send("test/wait", { id: "inspect", timeout: "1s" }));
    const done = await h.waitForRun(run.id);
    expect(done.steps.map((step) => [step.name, step.memo])).toEqual([
      ["gate", { data: true }],
      ["approval", { data: null }],
    ]);
    expect(done.waits).toEqual([expect.objectContaining({ kind: "event", event_name: "test/approve", resolution: "timeout" })]);
    expect(done.output).toEqual({ approvedBy: null });
    expect((await fetch(`${h.engine.url}/v1/runs/nope`)).status).toBe(404);
  });

  it("logs one readable line per run transition", async () => {
    const run = await h.waitForRun((await h.runFor(await h.send("test/sequential", { n: 1 }))).id);
    const lines = h.logs.filter((line) => line.includes(run.id.slice(-8))).map((line) => line.slice(25));
    expect(lines).toEqual([
      `run ${run.id.slice(-8)} (conformance-sequential) started by test/sequential ${(run as unknown as { event_id: string }).event_id}`,
      `run ${run.id.slice(-8)} (conformance-sequential) step "a" completed`,
      `run ${run.id.slice(-8)} (conformance-sequential) step "b" completed`,
      `run ${run.id.slice(-8)} (conformance-sequential) step "c" completed`,
      `run ${run.id.slice(-8)} (conformance-sequential) completed`,
    ]);
  });
});
