/**
 * The inspection API speaks Inngest's REST API for what the engine has (pkg/api/apiv1/apiv1.go:
 * GET /v1/events/{eventID}/runs, GET /v1/runs/{runID}, DELETE /v1/runs/{runID}), in its shapes
 * (cqrs.FunctionRun inside { data, metadata }), so a script written against Inngest works here.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { fetchJson, startHarness, type Harness } from "./support/harness.ts";

let h: Harness;
beforeAll(async () => {
  h = await startHarness();
});
afterAll(async () => {
  await h?.close();
});

interface InngestRun {
  run_id: string;
  run_started_at: string;
  function_id: string;
  event_id: string;
  status: string;
  ended_at: string | null;
  output: unknown;
}

describe("Inngest's REST API", () => {
  it("GET /v1/events/:eventId/runs lists the runs of the id the event API answered, with status and output", async () => {
    const eventId = await h.send("test/sequential", { n: 7 });
    const run = await h.waitForRun((await h.runFor(eventId)).id);
    const body = await fetchJson<{ data: InngestRun[]; metadata: { fetched_at: string } }>(`${h.engine.url}/v1/events/${eventId}/runs`);
    expect(body.data).toEqual([
      expect.objectContaining({
        run_id: run.id,
        function_id: "conformance-sequential",
        event_id: eventId,
        status: "Completed",
        output: { c: "a:7+b+c" },
        run_started_at: expect.any(String),
        ended_at: expect.any(String),
      }),
    ]);
    expect(Date.parse(body.metadata.fetched_at)).not.toBeNaN();
    expect((await fetchJson<{ data: unknown[] }>(`${h.engine.url}/v1/events/01J00000000000000000000000/runs`)).data).toEqual([]);
  });

  it("GET /v1/runs/:runId answers one run with its output; a failed run's output is its error", async () => {
    const done = await h.waitForRun((await h.runFor(await h.send("test/sequential", { n: 8 }))).id);
    const { data } = await fetchJson<{ data: InngestRun }>(`${h.engine.url}/v1/runs/${done.id}`);
    expect(data).toMatchObject({ run_id: done.id, status: "Completed", output: { c: "a:8+b+c" } });

    const failed = await h.waitForRun((await h.runFor(await h.send("test/fatal"))).id);
    const failedView = await fetchJson<{ data: InngestRun }>(`${h.engine.url}/v1/runs/${failed.id}`);
    expect(failedView.data).toMatchObject({ status: "Failed", output: { name: "NonRetriableError", message: "this cannot work" } });
  });

  it("DELETE /v1/runs/:runId cancels a running run (200, empty body); an ended run is 409, an unknown one 404", async () => {
    const run = await h.runFor(await h.send("test/cancellable", { id: "rest-cancel" }));
    await h.waitForRun(run.id, (view) => view.waits.some((wait) => wait.kind === "event" && wait.resolution === null));
    const response = await fetch(`${h.engine.url}/v1/runs/${run.id}`, { method: "DELETE" });
    expect(response.status).toBe(200);
    expect(await response.text()).toBe("");
    expect((await h.waitForRun(run.id)).status).toBe("Cancelled");
    expect((await fetch(`${h.engine.url}/v1/runs/${run.id}`, { method: "DELETE" })).status).toBe(409);
    expect((await fetch(`${h.engine.url}/v1/runs/01J00000000000000000000000`, { method: "DELETE" })).status).toBe(404);
  });
});
