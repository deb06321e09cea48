import { randomUUID } from "node:crypto";
import { createPool, withTransaction, type Pool } from "@batchgen/db";
import { createTestDatabase, type TestDatabase } from "@batchgen/db/testing";
import type { BatchDetail, BatchItem, GeneratedQuestion } from "@batchgen/types";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { OpenAIGenerator } from "../../src/generators/index.ts";
import { assertRunnerTickCallable, runnerTick, type FinishedItem } from "../../src/repositories/batch-item.repository.ts";
import { acquireRunnerLease, applyControlTransition, insertBatchWithItems, lockBatchById } from "../../src/repositories/batch-job.repository.ts";
import { chatCompletionBody, startFakeOpenAIServer, type FakeOpenAIServer } from "../generators/fake-openai-server.ts";
import { startPipelineHarness, waitForStatus, type PipelineHarness } from "../support/pipeline.ts";

// The runner's one round trip per turn of its window (supabase/migrations/20261210100000_runner_tick.sql):
// store what finished, claim what frees up, move the counters once, all under the batch row lock.
// Real PostgreSQL; the counters are checked against a recount of the rows every time.

let db: TestDatabase;
let pool: Pool;
let userId: string;

beforeAll(async () => {
  db = await createTestDatabase(inject("pgAdminUrl"));
  pool = createPool(db.url, { max: 6 });
  userId = randomUUID();
  await pool.query("INSERT INTO auth.users (id, email, raw_app_meta_data) VALUES ($1, $2, $3)", [
    userId,
    `tick-${userId.slice(0, 8)}@msm.edu`,
    JSON.stringify({ role: "faculty" }),
  ]);
});
afterAll(async () => {
  await pool?.end();
  await db?.drop();
});

const QUESTION: GeneratedQuestion = {
  stem: "A 54-year-old man has crushing chest pain. What is the most likely diagnosis?",
  options: [
    { label: "A", text: "Myocardial infarction" },
    { label: "B", text: "Pericarditis" },
    { label: "C", text: "Aortic dissection" },
    { label: "D", text: "Pulmonary embolism" },
    { label: "E", text: "Costochondritis" },
  ],
  answer: "A",
  explanation: "Crushing central chest pain in a man of this age is a myocardial infarction until proven otherwise.",
};

/** A running batch of `count` items whose lease `runnerId` holds. */
async function leasedBatch(count: number, runnerId: string): Promise<string> {
  const batch = await withTransaction(pool, (client) =>
    insertBatchWithItems(client, {
      userId,
      institutionId: null,
      config: { topic: "Cardiology", questionType: "single_best_answer", difficulty: "medium", count, concurrency: 5, generator: "simulated" },
    }),
  );
  await pool.query("UPDATE batch_jobs SET runner_id = $2, runner_heartbeat_at = now() WHERE id = $1", [batch.id, runnerId]);
  return batch.id;
}

/** The batch's counters next to a recount of its items: they must always agree. */
async function countersAndRecount(batchId: string) {
  const { rows } = await pool.query<{ counters: number[]; recount: number[] }>(
    `SELECT ARRAY[b.completed_items, b.failed_items, b.generating_items, b.cancelled_items] AS counters,
       ARRAY[count(*) FILTER (WHERE i.status = 'completed'), count(*) FILTER (WHERE i.status = 'failed'),
             count(*) FILTER (WHERE i.status = 'generating'), count(*) FILTER (WHERE i.status = 'cancelled')]::int[] AS recount
     FROM batch_jobs b JOIN batch_items i ON i.batch_id = b.id WHERE b.id = $1 GROUP BY b.id`,
    [batchId],
  );
  return rows[0]!;
}

describe("runner_tick (real PostgreSQL)", () => {
  it("stores what finished and claims the next items in one call, lowest positions first; the counters move once and match the rows", async () => {
    const runner = randomUUID();
    const batchId = await leasedBatch(10, runner);
    const first = await runnerTick(pool, batchId, runner, [], 3);
    expect(first).toMatchObject({ status: "running", leaseHeld: true });
    expect(first.items.map((item) => [item.position, item.attempts, item.earlierAttempts])).toEqual([
      [0, 1, 0],
      [1, 1, 0],
      [2, 1, 0],
    ]);
    const [a, b, c] = first.items;
    const finished: FinishedItem[] = [
      { id: a!.id, status: "completed", result: QUESTION },
      { id: b!.id, status: "failed", error: "gave up after 3 attempts" },
    ];
    const second = await runnerTick(pool, batchId, runner, finished, 2);
    expect([...second.stored].sort()).toEqual([a!.id, b!.id].sort());
    expect(second.items.map((item) => item.position)).toEqual([3, 4]);
    const counts = await countersAndRecount(batchId);
    expect(counts.counters).toEqual([1, 1, 3, 0]);
    expect(counts.counters).toEqual(counts.recount);

    const { rows } = await pool.query<{ position: number; status: string; result: unknown; error: string | null; claimed_by: string | null }>(
      "SELECT position, status, result, error, claimed_by FROM batch_items WHERE batch_id = $1 AND position < 3 ORDER BY position",
      [batchId],
    );
    expect(rows).toEqual([
      { position: 0, status: "completed", result: QUESTION, error: null, claimed_by: null },
      { position: 1, status: "failed", result: null, error: "gave up after 3 attempts", claimed_by: null },
      { position: 2, status: "generating", result: null, error: null, claimed_by: runner },
    ]);
    // Stored once: the same item sent again (a repeated tick) is not counted twice.
    const again = await runnerTick(pool, batchId, runner, [{ id: a!.id, status: "completed", result: QUESTION }, { id: c!.id, status: "completed", result: QUESTION }], 0);
    expect([...again.stored]).toEqual([c!.id]);
    expect((await countersAndRecount(batchId)).counters).toEqual([2, 1, 2, 0]);
  });

  it("paused or cancelled: stores what finished (nothing completed is lost) but claims nothing; a resume is answered once with onlyAfterResume", async () => {
    const runner = randomUUID();
    const batchId = await leasedBatch(10, runner);
    const { items } = await runnerTick(pool, batchId, runner, [], 4);
    await withTransaction(pool, async (client) => {
      await lockBatchById(client, batchId);
      await applyControlTransition(client, batchId, "paused");
    });
    const paused = await runnerTick(pool, batchId, runner, [{ id: items[0]!.id, status: "completed", result: QUESTION }], 4);
    expect(paused.status).toBe("paused");
    expect(paused.items).toEqual([]);
    expect(paused.stored.has(items[0]!.id)).toBe(true);

    // Closed chunk (past its budget): claims only to answer a resume, and the claim takes it up.
    expect((await runnerTick(pool, batchId, runner, [], 2, { onlyAfterResume: true })).items).toEqual([]);
    await withTransaction(pool, async (client) => {
      await lockBatchById(client, batchId);
      await applyControlTransition(client, batchId, "running");
    });
    const answered = await runnerTick(pool, batchId, runner, [], 1, { onlyAfterResume: true });
    expect(answered.items.map((item) => item.position)).toEqual([4]);
    const { rows } = await pool.query<{ resumed_at: Date | null }>("SELECT resumed_at FROM batch_jobs WHERE id = $1", [batchId]);
    expect(rows[0]!.resumed_at).toBeNull();
    expect((await runnerTick(pool, batchId, runner, [], 1, { onlyAfterResume: true })).items).toEqual([]);

    await withTransaction(pool, async (client) => {
      await lockBatchById(client, batchId);
      await applyControlTransition(client, batchId, "cancelled");
    });
    const cancelled = await runnerTick(pool, batchId, runner, [{ id: items[1]!.id, status: "completed", result: QUESTION }], 5);
    expect(cancelled).toMatchObject({ status: "cancelled", items: [] });
    expect(cancelled.stored.has(items[1]!.id)).toBe(true);
    const counts = await countersAndRecount(batchId);
    expect(counts.counters).toEqual(counts.recount);
    expect(counts.counters).toEqual([2, 0, 3, 5]);
  });

  it("a runner whose lease was taken over stores nothing of what the new runner claimed again, and claims nothing", async () => {
    const zombie = randomUUID();
    const batchId = await leasedBatch(4, zombie);
    const { items } = await runnerTick(pool, batchId, zombie, [], 2);
    // The takeover, as a chunk does it: the zombie's heartbeat is stale, the heir's lease requeues
    // the zombie's items and the heir claims them.
    const heir = randomUUID();
    await pool.query("UPDATE batch_jobs SET runner_heartbeat_at = now() - interval '1 hour' WHERE id = $1", [batchId]);
    const { rows: epochRows } = await pool.query<{ orchestrator_epoch: number }>("SELECT orchestrator_epoch FROM batch_jobs WHERE id = $1", [batchId]);
    const lease = await withTransaction(pool, (client) => acquireRunnerLease(client, batchId, heir, 30_000, epochRows[0]!.orchestrator_epoch));
    expect(lease).toMatchObject({ acquired: true, requeued: 2 });
    expect((await runnerTick(pool, batchId, heir, [], 2)).items.map((item) => item.id).sort()).toEqual(items.map((item) => item.id).sort());

    const late = await runnerTick(pool, batchId, zombie, items.map((item) => ({ id: item.id, status: "completed", result: QUESTION })), 2);
    expect(late).toMatchObject({ status: "running", leaseHeld: false, items: [] });
    expect(late.stored.size).toBe(0);
    const counts = await countersAndRecount(batchId);
    expect(counts.counters).toEqual([0, 0, 2, 0]);
    expect(counts.counters).toEqual(counts.recount);
  });

  it("a tick waiting for the batch row lock sees the pause or cancel that held it: it claims nothing after the control commits", async () => {
    for (const to of ["paused", "cancelled"] as const) {
      const runner = randomUUID();
      const batchId = await leasedBatch(6, runner);
      const control = await pool.connect();
      try {
        await control.query("BEGIN");
        await lockBatchById(control, batchId);
        const tick = runnerTick(pool, batchId, runner, [], 3);
        // The tick is queued behind the control's lock (it is not done after a while)…
        const settled = await Promise.race([tick.then(() => true), new Promise((resolve) => setTimeout(() => resolve(false), 300))]);
        expect(settled).toBe(false);
        await applyControlTransition(control, batchId, to);
        await control.query("COMMIT");
        // …and, granted the lock, reads what the control committed.
        const result = await tick;
        expect(result).toMatchObject({ status: to, items: [] });
      } finally {
        control.release();
      }
      const counts = await countersAndRecount(batchId);
      expect(counts.counters).toEqual(counts.recount);
      expect(counts.counters[2]).toBe(0);
    }
  });

  it("a NUL or a lone surrogate in a result or an error is stored as U+FFFD instead of failing the tick", async () => {
    const runner = randomUUID();
    const batchId = await leasedBatch(2, runner);
    const { items } = await runnerTick(pool, batchId, runner, [], 2);
    const hostile = { ...QUESTION, stem: "Which valve\u0000 is affected \uD83D?", explanation: "Half a pair: \uDE00." };
    const tick = await runnerTick(pool, batchId, runner, [
      { id: items[0]!.id, status: "completed", result: hostile },
      { id: items[1]!.id, status: "failed", error: "provider said \u0000\uD800" },
    ], 0);
    expect(tick.stored.size).toBe(2);
    const { rows } = await pool.query<{ result: GeneratedQuestion | null; error: string | null }>(
      "SELECT result, error FROM batch_items WHERE batch_id = $1 ORDER BY position",
      [batchId],
    );
    expect(rows[0]!.result).toMatchObject({ stem: "Which valve\uFFFD is affected \uFFFD?", explanation: "Half a pair: \uFFFD." });
    expect(rows[1]!.error).toBe("provider said \uFFFD\uFFFD");
  });

  it("is executable by nobody but its owner: not by PUBLIC, so not by Supabase's anon or authenticated (PostgREST's RPC)", async () => {
    const { rows } = await pool.query<{ grantee: string; owner: boolean }>(
      `SELECT CASE WHEN acl.grantee = 0 THEN 'PUBLIC' ELSE pg_get_userbyid(acl.grantee) END AS grantee, acl.grantee = p.proowner AS owner
       FROM pg_proc p, aclexplode(p.proacl) acl
       WHERE p.oid = to_regprocedure('public.runner_tick(uuid, text, jsonb, integer, boolean)') AND acl.privilege_type = 'EXECUTE'`,
    );
    // An explicit ACL (NULL would mean the default, EXECUTE for PUBLIC) that names only the owner.
    expect(rows.length).toBeGreaterThan(0);
    expect(rows.filter((row) => !row.owner).map((row) => row.grantee)).toEqual([]);
  });

  it("the API refuses to start without it, or with a role that may not execute it, saying what to do", async () => {
    await expect(assertRunnerTickCallable(pool)).resolves.toBeUndefined();
    const role = `tick_probe_${randomUUID().slice(0, 8)}`;
    await pool.query(`CREATE ROLE ${role}`);
    const client = await pool.connect();
    try {
      await client.query(`SET ROLE ${role}`);
      await expect(assertRunnerTickCallable(client)).rejects.toThrow(`may not execute public.runner_tick(uuid, text, jsonb, integer, boolean): connect as the role that applied the migrations, or GRANT EXECUTE`);
      await client.query("RESET ROLE");
    } finally {
      client.release();
      await pool.query(`DROP ROLE ${role}`);
    }
    const bare = await createTestDatabase(inject("pgAdminUrl"));
    const barePool = createPool(bare.url, { max: 1 });
    try {
      await barePool.query("DROP FUNCTION public.runner_tick(uuid, text, jsonb, integer, boolean)");
      await expect(assertRunnerTickCallable(barePool)).rejects.toThrow("apply the migrations first");
    } finally {
      await barePool.end();
      await bare.drop();
    }
  });
});

describe("a model that answers with text PostgreSQL cannot store (real OpenAI SDK against a fake server, real engine)", () => {
  let fake: FakeOpenAIServer;
  let h: PipelineHarness;

  beforeAll(async () => {
    const hostile = { ...QUESTION, stem: "A NUL\u0000 and half an emoji \uD83D in the stem?" };
    fake = await startFakeOpenAIServer({ status: 200, body: chatCompletionBody(hostile) });
    // The first answer is not JSON and carries a NUL: a failed attempt whose message holds it.
    fake.enqueue({ status: 200, body: chatCompletionBody("not json \u0000 at all") });
    h = await startPipelineHarness({
      generator: new OpenAIGenerator({ baseURL: fake.baseURL, apiKey: "sk-test", model: "test-model", timeoutMs: 5_000 }),
    });
  });
  afterAll(async () => {
    await h?.close();
    await fake?.close();
  });

  it("every item is stored (with U+FFFD in place of what cannot be stored) and the batch completes", async () => {
    const faculty = await h.createUser("faculty");
    const created = await h.api<BatchDetail>(faculty, "POST", "/api/v1/generation/batch", {
      topic: "Cardiology",
      questionType: "single_best_answer",
      difficulty: "medium",
      count: 6,
      concurrency: 3,
    });
    expect(created.status).toBe(201);
    const batchId = created.body.data.id;
    await waitForStatus(h.pool, batchId, ["completed"], 30_000);
    const items = await h.api<{ items: BatchItem[] }>(faculty, "GET", `/api/v1/generation/batch/${batchId}/items`);
    expect(items.status).toBe(200);
    expect(items.body.data.items).toHaveLength(6);
    for (const item of items.body.data.items) expect(item.result?.stem).toBe("A NUL\uFFFD and half an emoji \uFFFD in the stem?");
    expect(items.body.data.items.reduce((sum, item) => sum + item.attempts, 0)).toBe(7);
  });
});
