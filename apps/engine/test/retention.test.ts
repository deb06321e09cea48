/**
 * Retention of ended runs, on real PostgreSQL: runs that ended (completed, failed, cancelled) more
 * than the retention period ago go with their steps, waits and jobs; a run that ended recently
 * stays, and so does every run still running however old (parked on a wait or a sleep), with its
 * waits and jobs. A deleted run's run key still deduplicates its event id for its 24 h.
 *
 * The harness's engine keeps runs for 10 years, so only a second engine started on the same
 * database deletes anything: its first housekeeping tick (2 s after start) runs retention.
 */
import type { PoolClient } from "@batchgen/db";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { readEngineEnv } from "../src/config.ts";
import { startEngine, type EngineOptions } from "../src/index.ts";
import { eventually, startHarness, type Harness } from "./support/harness.ts";
import { stepPathOptions } from "./support/step-path.ts";

let h: Harness;
beforeAll(async () => {
  h = await startHarness({ engine: { runRetentionDays: 3650 } });
});
afterAll(async () => {
  await h?.close();
});

interface Rows {
  runs: number;
  steps: number;
  waits: number;
  jobs: number;
}

/** Rows of engine.runs, steps, waits and jobs that belong to `runIds` (all rows when omitted). */
async function rowsOf(runIds?: string[]): Promise<Rows> {
  const { rows } = await h.pool.query<Rows>(
    `SELECT (SELECT count(*)::int FROM engine.runs WHERE $1::text[] IS NULL OR id = ANY($1)) AS runs,
            (SELECT count(*)::int FROM engine.steps WHERE $1::text[] IS NULL OR run_id = ANY($1)) AS steps,
            (SELECT count(*)::int FROM engine.waits WHERE $1::text[] IS NULL OR run_id = ANY($1)) AS waits,
            (SELECT count(*)::int FROM engine.jobs WHERE $1::text[] IS NULL OR run_id = ANY($1)) AS jobs`,
    [runIds ?? null],
  );
  return rows[0]!;
}

const minus = (a: Rows, b: Rows): Rows => ({ runs: a.runs - b.runs, steps: a.steps - b.steps, waits: a.waits - b.waits, jobs: a.jobs - b.jobs });

/** Moves a run's times `days` into the past (its end too, when it ended). */
async function age(runId: string, days: number): Promise<void> {
  await h.pool.query(
    `UPDATE engine.runs SET created_at = created_at - make_interval(secs => $2::double precision * 86400),
       updated_at = updated_at - make_interval(secs => $2::double precision * 86400),
       ended_at = ended_at - make_interval(secs => $2::double precision * 86400)
     WHERE id = $1`,
    [runId, days],
  );
  await h.pool.query(`UPDATE engine.waits SET created_at = created_at - make_interval(secs => $2::double precision * 86400) WHERE run_id = $1`, [
    runId,
    days,
  ]);
}

/** A run of `name` that has ended. */
async function endedRun(name: string, data: Record<string, unknown> = {}, id?: string): Promise<string> {
  const { ids } = await h.client.send({ name, data, ...(id ? { id } : {}) });
  const run = await h.waitForRun((await h.runFor(ids[0]!)).id);
  return run.id;
}

/** Starts another engine on the test database, waits until its retention pass logged what it deleted, closes it. */
async function retentionPass(options: Partial<EngineOptions> = {}): Promise<string> {
  const logs: string[] = [];
  const engine = await startEngine({ databaseUrl: h.db.url, log: (line) => logs.push(line), ...stepPathOptions(), ...options });
  try {
    return await eventually("the second engine's retention pass", () => logs.find((line) => line.includes("engine deleted")), 20_000, () =>
      logs.join("\n"),
    );
  } finally {
    await engine.close();
  }
}

describe("retention of ended runs", () => {
  it("deletes runs that ended over 7 days ago with their steps, waits and jobs; keeps recent ones and every running run", async () => {
    // Runs that ended 8 days ago: completed (3 steps), failed, cancelled while parked on a wait
    // (cancelOn and waitForEvent waits), and one whose event id must stay deduplicated.
    const completed = await endedRun("test/sequential", { n: 1 });
    const failed = await endedRun("test/fatal");
    const dedupeId = `retention-${Date.now()}`;
    const deduplicated = await endedRun("test/sequential", { n: 2 }, dedupeId);
    const { ids } = await h.client.send({ name: "test/cancellable", data: { id: "r-1" } });
    const cancelled = (await h.runFor(ids[0]!)).id;
    await h.waitForRun(cancelled, (run) => run.waits.some((wait) => wait.kind === "event"));
    expect((await fetch(`${h.engine.url}/v1/runs/${cancelled}`, { method: "DELETE" })).status).toBe(200);
    await h.waitForRun(cancelled);

    // An ended run 8 days old whose call is still leased by a live engine process (its lock held
    // here): left for a later pass.
    const leased = await endedRun("test/sequential", { n: 3 });

    // Kept: ended 6 days ago, ended just now; running for 8 days, parked on a one-day wait and on a sleep.
    const sixDays = await endedRun("test/sequential", { n: 4 });
    const recent = await endedRun("test/sequential", { n: 5 });
    const waiting = (await h.runFor(await h.send("test/wait", { id: "r-2", timeout: "1d" }))).id;
    await h.waitForRun(waiting, (run) => run.waits.some((wait) => wait.kind === "event"));
    const sleeping = (await h.runFor(await h.send("test/sleep-until", { wakeAt: Date.now() + 86_400_000 }))).id;
    await eventually("the sleep job", async () => {
      const { rows } = await h.pool.query(`SELECT 1 FROM engine.jobs WHERE run_id = $1 AND kind = 'sleep'`, [sleeping]);
      return rows.length > 0 || undefined;
    });

    const gone = [completed, failed, deduplicated, cancelled];
    const kept = [leased, sixDays, recent, waiting, sleeping];
    for (const run of [...gone, leased, waiting, sleeping]) await age(run, 8);
    await age(sixDays, 6);

    const fakeOwner = 1_999_999_999;
    const lockHolder: PoolClient = await h.pool.connect();
    try {
      await lockHolder.query(`SELECT pg_advisory_lock(${0x656e67}, $1)`, [fakeOwner]); // LEASE_LOCK_NAMESPACE, an instance number
      await h.pool.query(`INSERT INTO engine.jobs (run_id, kind, step_id, run_at, lease_owner, leased_at) VALUES ($1, 'call', 'in-flight', now(), $2, now())`, [
        leased,
        fakeOwner,
      ]);

      const goneBefore = await rowsOf(gone);
      const keptBefore = await rowsOf(kept);
      const totalBefore = await rowsOf();
      expect(goneBefore.runs).toBe(4);
      expect(goneBefore.steps).toBeGreaterThanOrEqual(8); // 3 + 1 + 3 + 1 (the cancelled run's step)
      expect(goneBefore.waits).toBe(2); // the cancelled run's cancelOn and waitForEvent
      expect(keptBefore).toMatchObject({ runs: 5 });
      expect(keptBefore.waits).toBeGreaterThanOrEqual(1);
      expect(keptBefore.jobs).toBe(3); // the leased call, the wait's timeout, the sleep

      expect(await retentionPass()).toContain("engine deleted 4 run(s) that ended more than 7 day(s) ago");

      expect(await rowsOf(gone)).toEqual({ runs: 0, steps: 0, waits: 0, jobs: 0 });
      expect(await rowsOf(kept)).toEqual(keptBefore);
      expect(await rowsOf()).toEqual(minus(totalBefore, goneBefore));
      const waits = await h.pool.query(`SELECT kind, resolved_at FROM engine.waits WHERE run_id = $1 AND kind = 'event'`, [waiting]);
      expect(waits.rows).toEqual([{ kind: "event", resolved_at: null }]);
      expect((await h.getRun(waiting)).status).toBe("Running");
      expect((await fetch(`${h.engine.url}/v1/runs/${completed}`)).status).toBe(404);
    } finally {
      await h.pool.query(`DELETE FROM engine.jobs WHERE lease_owner = $1`, [fakeOwner]);
      await lockHolder.query(`SELECT pg_advisory_unlock(${0x656e67}, $1)`, [fakeOwner]);
      lockHolder.release();
    }

    // The parked run still resumes, and the deleted run's event id is still deduplicated (run keys keep their own 24 h).
    await h.client.send({ name: "test/approve", data: { id: "r-2", by: "retention" } });
    expect((await h.waitForRun(waiting)).output).toEqual({ approvedBy: "retention" });
    await h.client.send({ name: "test/sequential", data: { n: 6 }, id: dedupeId });
    await eventually("the duplicate to be skipped", () => h.logs.find((line) => line.includes(`a run for event id ${dedupeId} was started`)));
    const again = await h.pool.query(`SELECT id FROM engine.runs WHERE event->>'id' = $1`, [dedupeId]);
    expect(again.rows).toEqual([]);
  });

  it("keeps ended runs for the configured number of days", async () => {
    const threeDays = await endedRun("test/sequential", { n: 7 });
    const oneDay = await endedRun("test/sequential", { n: 8 });
    await age(threeDays, 3);
    await age(oneDay, 1.5);
    // Also over 2 days: the first test's kept runs that ended 6 and 8 days ago (its lease is gone now).
    const { rows } = await h.pool.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM engine.runs WHERE status <> 'running' AND ended_at < now() - interval '2 days'`,
    );
    expect(rows[0]!.n).toBeGreaterThanOrEqual(1);
    expect(await retentionPass({ runRetentionDays: 2 })).toContain(`engine deleted ${rows[0]!.n} run(s) that ended more than 2 day(s) ago`);
    expect((await rowsOf([threeDays])).runs).toBe(0);
    expect((await rowsOf([oneDay])).runs).toBe(1);
    expect((await h.pool.query(`SELECT 1 FROM engine.runs WHERE status = 'running'`)).rows.length).toBe(1); // the sleeping run
  });

  it("deletes in batches of 100 runs, as many as a pass needs (250 runs with 10 steps each here)", async () => {
    await h.pool.query(
      `WITH runs AS (
         INSERT INTO engine.runs (id, function_id, event_id, event, status, created_at, updated_at, ended_at)
         SELECT 'bulk-' || lpad(n::text, 4, '0'), 'conformance-sequential', 'bulk', '{}', 'completed',
           now() - interval '9 days', now() - interval '9 days', now() - interval '9 days' + n * interval '1 second'
         FROM generate_series(1, 250) AS n RETURNING id)
       INSERT INTO engine.steps (run_id, step_id, op, name, memo, position)
       SELECT runs.id, 's' || i, 'StepRun', 's' || i, '{"data": 1}', i FROM runs, generate_series(1, 10) AS i`,
    );
    const bulk = (await h.pool.query<{ id: string }>(`SELECT id FROM engine.runs WHERE id LIKE 'bulk-%'`)).rows.map((row) => row.id);
    expect(await rowsOf(bulk)).toEqual({ runs: 250, steps: 2500, waits: 0, jobs: 0 });
    expect(await retentionPass()).toContain("engine deleted 250 run(s) that ended more than 7 day(s) ago");
    expect(await rowsOf(bulk)).toEqual({ runs: 0, steps: 0, waits: 0, jobs: 0 });
  });

  it("refuses a retention under a day, in startEngine and in ENGINE_RUN_RETENTION_DAYS (default 7)", async () => {
    await expect(startEngine({ databaseUrl: h.db.url, runRetentionDays: 0.5 })).rejects.toThrow(/runRetentionDays must be .* at least 1/);
    expect(readEngineEnv({ DATABASE_URL: "postgres://x" }).ENGINE_RUN_RETENTION_DAYS).toBe(7);
    expect(readEngineEnv({ DATABASE_URL: "postgres://x", ENGINE_RUN_RETENTION_DAYS: "30" }).ENGINE_RUN_RETENTION_DAYS).toBe(30);
    for (const bad of ["0", "0.5", "-1", "abc"]) {
      expect(() => readEngineEnv({ DATABASE_URL: "postgres://x", ENGINE_RUN_RETENTION_DAYS: bad }), bad).toThrow(/ENGINE_RUN_RETENTION_DAYS/);
    }
  });
});
