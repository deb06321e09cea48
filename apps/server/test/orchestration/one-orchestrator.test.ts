import type { BatchControlResponse, BatchDetail, BatchStatusTransition } from "@batchgen/types";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { batchRow, startPipelineHarness, waitFor, waitForStatus, type PipelineHarness, type TestUser } from "../support/pipeline.ts";

// What keeps running, not only what comes out: live orchestrator runs per batch, engine steps and
// timers while paused, attempts across claims, and batches that must end by themselves.

let h: PipelineHarness;
let owner: TestUser;
const calls = new Map<string, number[]>();
// Batches whose topic starts with "Slow" take 1.5 s per item.
const SLOW = "Slow nephrology";

beforeAll(async () => {
  h = await startPipelineHarness({
    simulated: {
      latencyMedianMs: 60,
      latencyJitter: 0.3,
      behaviour: (input) => {
        calls.set(input.batchId, [...(calls.get(input.batchId) ?? []), input.position]);
        return input.topic === SLOW ? { latencyMs: 1_500 } : undefined;
      },
    },
  });
  owner = await h.createUser("faculty");
});
afterAll(async () => {
  await h?.close();
});

const base = { topic: "Nephrology", questionType: "single_best_answer", difficulty: "medium" } as const;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function createBatch(count: number, concurrency: number, topic: string = base.topic): Promise<string> {
  const created = await h.api<BatchDetail>(owner, "POST", "/api/v1/generation/batch", { ...base, topic, count, concurrency });
  expect(created.status).toBe(201);
  return created.body.data.id;
}

function control(action: "pause" | "resume" | "cancel", batchId: string) {
  return h.api<BatchControlResponse>(owner, "POST", `/api/v1/generation/batch/${batchId}/${action}`);
}

/** Runs of a function for one batch, by status, straight from the engine's state. */
async function runsOf(functionSuffix: "batch-generate" | "batch-control", batchId: string) {
  const { rows } = await h.pool.query<{ id: string; status: string; epoch: number | null; created_at: Date }>(
    `SELECT id, status, (event -> 'data' ->> 'epoch')::int AS epoch, created_at FROM engine.runs
     WHERE function_id LIKE '%' || $1 AND event -> 'data' ->> 'batchId' = $2 ORDER BY created_at`,
    [functionSuffix, batchId],
  );
  return rows;
}

const liveOrchestrators = async (batchId: string) => (await runsOf("batch-generate", batchId)).filter((run) => run.status === "running");

/** The batch's runs end a moment after the batch does (the engine applies the last answer). */
async function waitForNoLiveOrchestrator(batchId: string) {
  await waitFor("the orchestrator runs to end", async () => ((await liveOrchestrators(batchId)).length === 0 ? true : undefined), 10_000);
}

/** Every step the engine has recorded for the batch's orchestrator runs, and its queued timers and calls. */
async function engineWork(batchId: string) {
  const { rows } = await h.pool.query<{ steps: number; jobs: { kind: string; run_at: Date }[] | null }>(
    `SELECT (SELECT count(*)::int FROM engine.steps s WHERE s.run_id = ANY(r.ids)) AS steps,
            (SELECT json_agg(json_build_object('kind', j.kind, 'run_at', j.run_at)) FROM engine.jobs j WHERE j.run_id = ANY(r.ids)) AS jobs
     FROM (SELECT array_agg(id) AS ids FROM engine.runs WHERE function_id LIKE '%batch-generate' AND event -> 'data' ->> 'batchId' = $1) r`,
    [batchId],
  );
  return { steps: rows[0]!.steps, jobs: (rows[0]!.jobs ?? []).map((job) => ({ kind: job.kind, runAt: new Date(job.run_at) })) };
}

/** The orchestrator has parked: nothing in flight, an open wait for batch.resume. */
async function waitUntilParked(batchId: string) {
  await waitFor("the orchestrator to park on its resume wait", async () => {
    const { rows } = await h.pool.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM engine.waits w JOIN engine.runs r ON r.id = w.run_id
       WHERE w.kind = 'event' AND w.resolved_at IS NULL AND r.status = 'running' AND r.event -> 'data' ->> 'batchId' = $1`,
      [batchId],
    );
    const batch = await batchRow(h.pool, batchId);
    return rows[0]!.n === 1 && batch.generating_items === 0 ? true : undefined;
  });
}

/** Samples the live orchestrator runs of a batch until stopped; returns the most seen at once. */
function sampleLiveRuns(batchId: string) {
  let max = 0;
  let stopped = false;
  const done = (async () => {
    while (!stopped) {
      max = Math.max(max, (await liveOrchestrators(batchId)).length);
      await sleep(25);
    }
  })();
  return {
    stop: async () => {
      stopped = true;
      await done;
      return max;
    },
  };
}

async function history(batchId: string) {
  const response = await h.api<{ items: BatchStatusTransition[] }>(owner, "GET", `/api/v1/generation/batch/${batchId}/history`);
  return response.body.data.items;
}

describe("one orchestrator per batch (real Postgres, real engine)", () => {
  it("after 50 pause/resume pairs at random points, at most one orchestrator run of the batch is ever alive, and every item is generated once", async () => {
    const batchId = await createBatch(300, 5);
    const sampler = sampleLiveRuns(batchId);
    for (let pair = 0; pair < 50; pair += 1) {
      await sleep(10 + Math.random() * 60);
      const paused = await control("pause", batchId);
      if (paused.status !== 200) break;
      // Every fifth pair waits until the run has parked, so the resume has to wake a parked run.
      if (pair % 5 === 0) await waitUntilParked(batchId);
      else await sleep(Math.random() * 20);
      expect((await control("resume", batchId)).status).toBe(200);
    }
    const done = await waitForStatus(h.pool, batchId, ["completed"], 120_000);
    expect(done.completed_items).toBe(300);
    await waitForNoLiveOrchestrator(batchId);
    expect(await sampler.stop()).toBe(1);
    const { rows } = await h.pool.query<{ n: number }>("SELECT count(*)::int AS n FROM batch_items WHERE batch_id = $1 AND attempts <> 1", [batchId]);
    expect(rows[0]!.n).toBe(0);
  }, 180_000);

  it("a paused batch costs nothing: no engine step runs and the only timer is the day-long wait, however long it stays paused", async () => {
    const batchId = await createBatch(100, 4);
    await waitFor("progress", async () => ((await batchRow(h.pool, batchId)).completed_items >= 4 ? true : undefined));
    expect((await control("pause", batchId)).status).toBe(200);
    await waitUntilParked(batchId);
    const before = await engineWork(batchId);
    await sleep(4_000);
    const after = await engineWork(batchId);
    expect(after.steps).toBe(before.steps);
    expect(after.jobs).toHaveLength(1);
    expect(after.jobs[0]!.kind).toBe("wait_timeout");
    expect(after.jobs[0]!.runAt.getTime() - Date.now()).toBeGreaterThan(23 * 3_600_000);
    expect(await liveOrchestrators(batchId)).toHaveLength(1);

    // And the resume wakes that same run: no new chain was needed.
    const epochs = new Set((await runsOf("batch-generate", batchId)).map((run) => run.epoch));
    expect((await control("resume", batchId)).status).toBe(200);
    await waitForStatus(h.pool, batchId, ["completed"]);
    expect(new Set((await runsOf("batch-generate", batchId)).map((run) => run.epoch))).toEqual(epochs);
  }, 60_000);

  it("a resume whose event reaches no wait (the lost wakeup) is covered by the watchdog: the next item starts within seconds, the old run is cancelled, one run remains", async () => {
    const batchId = await createBatch(60, 3);
    await waitFor("progress", async () => ((await batchRow(h.pool, batchId)).completed_items >= 3 ? true : undefined));
    expect((await control("pause", batchId)).status).toBe(200);
    await waitUntilParked(batchId);
    const [parked] = await liveOrchestrators(batchId);
    // As if the wait had not been registered yet when the resume's event arrived.
    await h.pool.query("DELETE FROM engine.waits WHERE run_id = $1 AND kind = 'event'", [parked!.id]);

    const resumedAt = Date.now();
    expect((await control("resume", batchId)).status).toBe(200);
    const started = await waitFor("an item to start after the resume", async () => {
      const { rows } = await h.pool.query<{ started_at: Date }>(
        "SELECT started_at FROM batch_items WHERE batch_id = $1 AND started_at > to_timestamp($2 / 1000.0) ORDER BY started_at LIMIT 1",
        [batchId, resumedAt],
      );
      return rows[0]?.started_at;
    }, 10_000, 20);
    // The watchdog is configured to 1 s here (2 s by default): well inside the 5 s bound.
    expect(started.getTime() - resumedAt).toBeLessThan(5_000);
    await waitForStatus(h.pool, batchId, ["completed"]);
    await waitForNoLiveOrchestrator(batchId);
    const runs = await runsOf("batch-generate", batchId);
    expect(runs.find((run) => run.id === parked!.id)?.status).toBe("cancelled");
    expect(Math.max(...runs.map((run) => run.epoch ?? 0))).toBe(2);
  }, 60_000);

  it("the sweeper restarting a stalled batch whose old run is still parked leaves exactly one run, and the batch completes", async () => {
    const batchId = await createBatch(40, 2);
    await waitFor("progress", async () => ((await batchRow(h.pool, batchId)).completed_items >= 2 ? true : undefined));
    expect((await control("pause", batchId)).status).toBe(200);
    await waitUntilParked(batchId);
    // Running again without any event, with no visible change for ten minutes: a lost orchestrator.
    await h.pool.query(
      `ALTER TABLE batch_jobs DISABLE TRIGGER batch_jobs_set_updated_at;
       UPDATE batch_jobs SET status = 'running', paused_at = NULL, updated_at = now() - interval '10 minutes',
         orchestrator_started_at = now() - interval '10 minutes' WHERE id = '${batchId}';
       ALTER TABLE batch_jobs ENABLE TRIGGER batch_jobs_set_updated_at;`,
    );
    const sampler = sampleLiveRuns(batchId);
    await waitForStatus(h.pool, batchId, ["completed"]);
    await waitForNoLiveOrchestrator(batchId);
    expect(await sampler.stop()).toBe(1);
    const runs = await runsOf("batch-generate", batchId);
    expect(runs.map((run) => [run.epoch, run.status])).toEqual([
      [1, "cancelled"],
      [2, "completed"],
    ]);
  }, 60_000);

  it("a paused batch whose items in flight were the last ones completes by itself, recorded in the history as a system transition", async () => {
    const batchId = await createBatch(3, 3, SLOW);
    await waitFor("all three in flight", async () => ((await batchRow(h.pool, batchId)).generating_items === 3 ? true : undefined));
    expect((await control("pause", batchId)).status).toBe(200);
    const done = await waitForStatus(h.pool, batchId, ["completed", "completed_with_errors", "failed"]);
    expect(done).toMatchObject({ status: "completed", completed_items: 3 });
    expect(done.finished_at).not.toBeNull();
    const items = await history(batchId);
    expect(items.map((item) => [item.action, item.previousStatus, item.newStatus, item.actorId])).toEqual([
      ["complete", "paused", "completed", null],
      ["pause", "running", "paused", owner.sub],
    ]);
    const detail = await h.api<BatchDetail>(owner, "GET", `/api/v1/generation/batch/${batchId}`);
    expect(detail.body.data).toMatchObject({ status: "completed", allowedActions: [] });
    await waitFor("batch.finished", async () => {
      const { rows } = await h.pool.query("SELECT 1 FROM engine.events WHERE name = 'batch.finished' AND body -> 'data' ->> 'batchId' = $1", [batchId]);
      return rows.length > 0 ? true : undefined;
    });
    await waitForNoLiveOrchestrator(batchId);
  }, 60_000);

  it("the attempt limit is an item's total: an item that already used its attempts in earlier claims fails without another generation", async () => {
    const batchId = await createBatch(6, 1);
    expect((await control("pause", batchId)).status).toBe(200);
    await waitUntilParked(batchId);
    // Position 5 was claimed three times before, each time by a worker that died (a takeover requeued it).
    await h.pool.query("UPDATE batch_items SET attempts = 3, error = 'Interrupted' WHERE batch_id = $1 AND position = 5", [batchId]);
    expect((await control("resume", batchId)).status).toBe(200);
    const done = await waitForStatus(h.pool, batchId, ["completed_with_errors", "completed", "failed"]);
    expect(done).toMatchObject({ status: "completed_with_errors", completed_items: 5, failed_items: 1 });
    const { rows } = await h.pool.query<{ status: string; attempts: number; error: string }>(
      "SELECT status, attempts, error FROM batch_items WHERE batch_id = $1 AND position = 5",
      [batchId],
    );
    expect(rows[0]).toMatchObject({ status: "failed", error: expect.stringMatching(/gave up after 3 attempts/) });
    expect(calls.get(batchId)?.filter((position) => position === 5) ?? []).toEqual([]);
  }, 60_000);

  it("cancel with slow items in flight: the watcher takes a handful of steps, not hundreds, and the batch ends with batch.finished", async () => {
    const batchId = await createBatch(20, 3, SLOW);
    await waitFor("items in flight", async () => ((await batchRow(h.pool, batchId)).generating_items === 3 ? true : undefined));
    expect((await control("cancel", batchId)).status).toBe(200);
    await waitFor("finished_at", async () => ((await batchRow(h.pool, batchId)).finished_at ? true : undefined));
    const [watcher] = await runsOf("batch-control", batchId);
    await waitFor("the watcher to end", async () => {
      const { rows } = await h.pool.query<{ status: string }>("SELECT status FROM engine.runs WHERE id = $1", [watcher!.id]);
      return rows[0]!.status === "completed" ? true : undefined;
    });
    const { rows } = await h.pool.query<{ n: number }>("SELECT count(*)::int AS n FROM engine.steps WHERE run_id = $1", [watcher!.id]);
    expect(rows[0]!.n).toBeLessThanOrEqual(13);
    expect((await batchRow(h.pool, batchId)).status).toBe("cancelled");
  }, 60_000);

  it("a cancelled batch whose runner and watcher are gone is closed out by the sweeper: finished_at, orphans cancelled, batch.finished", async () => {
    const { rows } = await h.pool.query<{ id: string }>(
      `INSERT INTO batch_jobs (user_id, status, total_items, completed_items, generating_items, config, started_at, cancelled_at, runner_id, runner_heartbeat_at)
       VALUES ($1, 'cancelled', 3, 1, 1, $2, now() - interval '5 minutes', now() - interval '2 minutes', 'dead-runner', now() - interval '2 minutes')
       RETURNING id`,
      [owner.sub, JSON.stringify({ ...base, count: 3, concurrency: 1, generator: "simulated" })],
    );
    const batchId = rows[0]!.id;
    await h.pool.query(
      `INSERT INTO batch_items (batch_id, position, status, attempts, result, finished_at, claimed_by)
       VALUES ($1, 0, 'completed', 1, '{"stem":"kept"}', now(), NULL), ($1, 1, 'generating', 1, NULL, NULL, 'dead-runner'), ($1, 2, 'cancelled', 0, NULL, now(), NULL)`,
      [batchId],
    );
    await h.pool.query("UPDATE batch_jobs SET cancelled_items = 1 WHERE id = $1", [batchId]);
    const done = await waitFor("the sweeper to close it out", async () => {
      const row = await batchRow(h.pool, batchId);
      return row.finished_at ? row : undefined;
    }, 15_000);
    expect(done).toMatchObject({ status: "cancelled", completed_items: 1, cancelled_items: 2, generating_items: 0 });
    const kept = await h.pool.query<{ result: unknown }>("SELECT result FROM batch_items WHERE batch_id = $1 AND position = 0", [batchId]);
    expect(kept.rows[0]!.result).toEqual({ stem: "kept" });
    await waitFor("batch.finished", async () => {
      const found = await h.pool.query("SELECT 1 FROM engine.events WHERE name = 'batch.finished' AND body -> 'data' ->> 'batchId' = $1", [batchId]);
      return found.rows.length > 0 ? true : undefined;
    });
  }, 30_000);

  it("a paused batch whose runner died with items in flight gets them back as pending, and a resume completes it", async () => {
    const batchId = await createBatch(8, 2);
    expect((await control("pause", batchId)).status).toBe(200);
    await waitUntilParked(batchId);
    // As if the runner had died mid-item a minute ago.
    await h.pool.query(
      `WITH moved AS (UPDATE batch_items SET status = 'generating', attempts = attempts + 1, claimed_by = 'dead-runner', started_at = now()
                      WHERE id IN (SELECT id FROM batch_items WHERE batch_id = $1 AND status = 'pending' ORDER BY position LIMIT 2) RETURNING 1)
       UPDATE batch_jobs SET generating_items = generating_items + (SELECT count(*) FROM moved), runner_id = 'dead-runner',
         runner_heartbeat_at = now() - interval '1 minute', paused_at = now() - interval '1 minute' WHERE id = $1`,
      [batchId],
    );
    await waitFor("the sweeper to requeue them", async () => ((await batchRow(h.pool, batchId)).generating_items === 0 ? true : undefined), 15_000);
    expect((await batchRow(h.pool, batchId)).status).toBe("paused");
    expect((await control("resume", batchId)).status).toBe(200);
    const done = await waitForStatus(h.pool, batchId, ["completed"]);
    expect(done.completed_items).toBe(8);
  }, 60_000);
});
