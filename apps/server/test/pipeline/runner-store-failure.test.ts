import { randomUUID } from "node:crypto";
import { createPool, withTransaction, type Pool } from "@batchgen/db";
import { createTestDatabase, type TestDatabase } from "@batchgen/db/testing";
import type { GeneratedQuestion } from "@batchgen/types";
import { pino } from "pino";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { TransientGenerationError, type GenerationInput, type ItemGenerator } from "../../src/generators/generator.ts";
import { applyControlTransition, insertBatchWithItems, lockBatchById } from "../../src/repositories/batch-job.repository.ts";
import { BatchRunnerService, type BatchRunnerOptions } from "../../src/services/generation/batch-runner.service.ts";

// What the runner does when the database refuses to store finished items for a moment (a dropped
// connection, a failover): the questions it generated are kept and stored once the database
// answers again — running, paused or cancelled — and only a refusal longer than the lease's stale
// window makes the chunk give up. Real PostgreSQL; the failures are injected at the pool.

let db: TestDatabase;
let pool: Pool;
let userId: string;

const QUESTION: GeneratedQuestion = {
  stem: "Which drug reverses heparin?",
  options: [
    { label: "A", text: "Protamine sulfate" },
    { label: "B", text: "Vitamin K" },
    { label: "C", text: "Idarucizumab" },
    { label: "D", text: "Andexanet alfa" },
    { label: "E", text: "Fresh frozen plasma" },
  ],
  answer: "A",
  explanation: "Protamine binds heparin.",
};

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** A generator whose calls wait until the test answers them (`open` answers every later call at once). */
class HeldGenerator implements ItemGenerator {
  readonly name = "simulated" as const;
  readonly calls: { position: number; resolve: (question: GeneratedQuestion) => void; reject: (error: unknown) => void }[] = [];
  open = false;
  generate(input: GenerationInput): Promise<GeneratedQuestion> {
    if (this.open) return Promise.resolve(QUESTION);
    return new Promise((resolve, reject) => this.calls.push({ position: input.position, resolve, reject }));
  }
  async started(count: number): Promise<void> {
    for (let waited = 0; this.calls.length < count; waited += 5) {
      if (waited > 5_000) throw new Error(`only ${this.calls.length} of ${count} generations started`);
      await sleep(5);
    }
  }
}

/** The pool, with queries containing `match` refused (as a dropped connection would be) while armed. */
function refusingPool(real: Pool) {
  const state = { match: "", remaining: 0, refused: 0, calls: 0 };
  const proxy = new Proxy(real, {
    get(target, prop) {
      if (prop === "query") {
        return (text: unknown, values?: unknown[]) => {
          if (typeof text === "string" && state.match && text.includes(state.match)) {
            state.calls += 1;
            if (state.remaining > 0) {
              state.remaining -= 1;
              state.refused += 1;
              return Promise.reject(new Error("Connection terminated unexpectedly"));
            }
          }
          return (target.query as (query: unknown, values?: unknown[]) => Promise<unknown>)(text, values);
        };
      }
      const value: unknown = Reflect.get(target, prop, target);
      return typeof value === "function" ? (value as (...args: unknown[]) => unknown).bind(target) : value;
    },
  });
  return { pool: proxy, state, refuse: (match: string, times: number) => Object.assign(state, { match, remaining: times }) };
}

const OPTIONS: BatchRunnerOptions = {
  chunkBudgetMs: 30_000,
  maxAttemptsPerItem: 3,
  retryBaseMs: 5,
  heartbeatMs: 1_000,
  leaseStaleMs: 30_000,
  resumeRecheckMs: 20,
  tickTimeoutMs: 10_000,
};
const outbox = { flush: () => Promise.resolve() };
const logger = pino({ level: "silent" });

async function newBatch(count: number, concurrency: number): Promise<{ id: string; epoch: number }> {
  const batch = await withTransaction(pool, (client) =>
    insertBatchWithItems(client, {
      userId,
      institutionId: null,
      config: { topic: "Haematology", questionType: "single_best_answer", difficulty: "medium", count, concurrency, generator: "simulated" },
    }),
  );
  return { id: batch.id, epoch: batch.orchestrator_epoch };
}

async function items(batchId: string) {
  const { rows } = await pool.query<{ position: number; status: string; attempts: number }>(
    "SELECT position, status, attempts FROM batch_items WHERE batch_id = $1 ORDER BY position",
    [batchId],
  );
  return rows;
}

async function control(batchId: string, to: "paused" | "cancelled") {
  await withTransaction(pool, async (client) => {
    await lockBatchById(client, batchId);
    await applyControlTransition(client, batchId, to);
  });
}

beforeAll(async () => {
  db = await createTestDatabase(inject("pgAdminUrl"));
  pool = createPool(db.url, { max: 8 });
  userId = randomUUID();
  await pool.query("INSERT INTO auth.users (id, email, raw_app_meta_data) VALUES ($1, $2, $3)", [
    userId,
    `store-${userId.slice(0, 8)}@msm.edu`,
    JSON.stringify({ role: "faculty" }),
  ]);
});
afterAll(async () => {
  await pool?.end();
  await db?.drop();
});

describe("the database refuses to store finished items for a moment", () => {
  for (const control_ of ["running", "paused", "cancelled"] as const) {
    it(`${control_}: the three questions in flight are stored once it answers again, each generated once`, async () => {
      const { id, epoch } = await newBatch(3, 3);
      const generator = new HeldGenerator();
      const flaky = refusingPool(pool);
      const runner = new BatchRunnerService(flaky.pool, () => generator, outbox, logger, OPTIONS);
      const chunk = runner.runChunk(id, epoch);
      await generator.started(3);
      if (control_ !== "running") await control(id, control_);
      flaky.refuse("runner_tick", 2);
      for (const call of generator.calls) call.resolve(QUESTION);
      const outcome = await chunk;

      expect(flaky.state.refused).toBe(2);
      expect(outcome).toMatchObject({ generated: 3, failed: 0 });
      expect(generator.calls).toHaveLength(3);
      expect(await items(id)).toEqual([0, 1, 2].map((position) => ({ position, status: "completed", attempts: 1 })));
      const { rows } = await pool.query<{ completed_items: number; generating_items: number }>(
        "SELECT completed_items, generating_items FROM batch_jobs WHERE id = $1",
        [id],
      );
      expect(rows[0]).toEqual({ completed_items: 3, generating_items: 0 });
    });
  }

  it("a failed attempt's record refused: that item is left for the requeue, the others are still stored", async () => {
    const { id, epoch } = await newBatch(3, 3);
    const generator = new HeldGenerator();
    const flaky = refusingPool(pool);
    const runner = new BatchRunnerService(flaky.pool, () => generator, outbox, logger, OPTIONS);
    const chunk = runner.runChunk(id, epoch);
    await generator.started(3);
    flaky.refuse("SET attempts = attempts + 1, error", 1);
    generator.calls.find((call) => call.position === 0)!.reject(new TransientGenerationError("provider overloaded"));
    await sleep(50);
    for (const call of generator.calls.filter((each) => each.position !== 0)) call.resolve(QUESTION);
    const outcome = await chunk;

    expect(outcome).toMatchObject({ generated: 2 });
    const rows = await items(id);
    expect(rows.slice(1).map((row) => row.status)).toEqual(["completed", "completed"]);
    expect(rows[0]).toMatchObject({ position: 0, status: "generating" });
    // The next chunk requeues it and generates it again.
    generator.open = true;
    const next = await runner.runChunk(id, epoch);
    expect(next).toMatchObject({ status: "completed", requeued: 1, generated: 1 });
  });

  it("refused for longer than the lease's stale window: the chunk gives up after a few tries (no spinning) and the step fails", async () => {
    const { id, epoch } = await newBatch(2, 2);
    const generator = new HeldGenerator();
    const flaky = refusingPool(pool);
    const runner = new BatchRunnerService(flaky.pool, () => generator, outbox, logger, { ...OPTIONS, leaseStaleMs: 700 });
    const chunk = runner.runChunk(id, epoch).then(
      () => null,
      (error: unknown) => error,
    );
    await generator.started(2);
    flaky.refuse("runner_tick", 1_000);
    const since = Date.now();
    for (const call of generator.calls) call.resolve(QUESTION);
    const error = await chunk;

    expect(error).toBeInstanceOf(Error);
    expect((error as Error).message).toMatch(/Connection terminated/);
    expect(Date.now() - since).toBeGreaterThanOrEqual(700);
    // 100, 200, 400 ms pauses: four or five tries in 0.7 s, not a busy loop.
    expect(flaky.state.calls).toBeLessThanOrEqual(6);
    // Left `generating` under the dead chunk's claim: the next lease requeues them.
    expect((await items(id)).map((row) => row.status)).toEqual(["generating", "generating"]);
  });

  it("a turn the database never answers (a half-open connection) counts as refused: the chunk gives up in time, and drain() does not wait for it", async () => {
    const { id, epoch } = await newBatch(2, 2);
    const generator = new HeldGenerator();
    let hung = 0;
    const silent = new Proxy(pool, {
      get(target, prop) {
        if (prop === "query") {
          return (text: unknown, values?: unknown[]) => {
            if (typeof text === "string" && text.includes("runner_tick") && generator.calls.length === 2) {
              hung += 1;
              return new Promise(() => undefined);
            }
            return (target.query as (query: unknown, values?: unknown[]) => Promise<unknown>)(text, values);
          };
        }
        const value: unknown = Reflect.get(target, prop, target);
        return typeof value === "function" ? (value as (...args: unknown[]) => unknown).bind(target) : value;
      },
    });
    const runner = new BatchRunnerService(silent, () => generator, outbox, logger, { ...OPTIONS, leaseStaleMs: 600, tickTimeoutMs: 200 });
    const chunk = runner.runChunk(id, epoch).then(
      () => null,
      (error: unknown) => error,
    );
    await generator.started(2);
    const since = Date.now();
    for (const call of generator.calls) call.resolve(QUESTION);
    runner.drain();
    const error = await chunk;
    expect((error as Error).message).toMatch(/did not answer a turn of the window within 200 ms/);
    expect(Date.now() - since).toBeLessThan(3_000);
    expect(hung).toBeGreaterThanOrEqual(2);
  });

  it("after giving up, a result that arrives once the database answers again is still stored (one try), and no further attempts are spent", async () => {
    const { id, epoch } = await newBatch(2, 2);
    const generator = new HeldGenerator();
    const flaky = refusingPool(pool);
    const runner = new BatchRunnerService(flaky.pool, () => generator, outbox, logger, { ...OPTIONS, leaseStaleMs: 300 });
    const chunk = runner.runChunk(id, epoch).then(
      () => null,
      (error: unknown) => error,
    );
    await generator.started(2);
    flaky.refuse("runner_tick", 1_000);
    generator.calls[0]!.resolve(QUESTION);
    await sleep(700); // given up by now
    flaky.refuse("runner_tick", 0);
    generator.calls[1]!.resolve(QUESTION);
    expect(await chunk).toBeInstanceOf(Error);
    expect(generator.calls).toHaveLength(2);
    expect((await items(id)).map((row) => [row.position, row.status, row.attempts])).toEqual([
      [0, "generating", 1],
      [1, "completed", 1],
    ]);
  });

  it("a generator's answer with an extra key (holding a NUL) or a malformed shape: the good ones are stored without the key, the malformed one is a failed attempt", async () => {
    const { id, epoch } = await newBatch(2, 2);
    const odd: ItemGenerator = {
      name: "simulated",
      generate: (input) =>
        Promise.resolve(
          input.position === 0
            ? ({ ...QUESTION, "note\u0000": "from the model" } as GeneratedQuestion)
            : ({ ...QUESTION, options: "not a list" } as unknown as GeneratedQuestion),
        ),
    };
    const runner = new BatchRunnerService(pool, () => odd, outbox, logger, OPTIONS);
    const outcome = await runner.runChunk(id, epoch);
    expect(outcome).toMatchObject({ generated: 1, failed: 1 });
    const { rows } = await pool.query<{ position: number; status: string; result: unknown; attempts: number }>(
      "SELECT position, status, result, attempts FROM batch_items WHERE batch_id = $1 ORDER BY position",
      [id],
    );
    expect(rows[0]).toMatchObject({ status: "completed", result: QUESTION });
    expect(rows[1]).toMatchObject({ status: "failed", result: null, attempts: 3 });
  });
});
