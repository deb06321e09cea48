import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { collectStream, startPipelineHarness, waitFor, type PipelineHarness, type TestUser } from "../support/pipeline.ts";

// A stream whose request was still under way when shutdown began (its ownership check waiting)
// must end too; otherwise the server never finishes closing and the process is force-killed.

let h: PipelineHarness;
let owner: TestUser;
let locker: pg.Client | undefined;

beforeAll(async () => {
  h = await startPipelineHarness();
  owner = await h.createUser("faculty");
});
afterAll(async () => {
  await locker?.end().catch(() => undefined);
  await h?.close();
});

describe("live streams and shutdown", () => {
  it("a stream that subscribes after shutdown began ends at once instead of staying open", async () => {
    const { rows } = await h.pool.query<{ id: string }>(
      "INSERT INTO batch_jobs (user_id, status, total_items, config, started_at) VALUES ($1, 'running', 10, $2, now()) RETURNING id",
      [owner.sub, JSON.stringify({ topic: "Shutdown", questionType: "single_best_answer", difficulty: "easy", count: 10, concurrency: 1, generator: "simulated" })],
    );
    const batchId = rows[0]!.id;
    locker = new pg.Client({ connectionString: h.db.url });
    await locker.connect();
    await locker.query("BEGIN");
    await locker.query("LOCK TABLE batch_jobs IN ACCESS EXCLUSIVE MODE");

    const started = Date.now();
    const stream = collectStream(`${h.apiUrl}/api/v1/generation/batch/${batchId}/stream`, owner.token, () => false, 15_000);
    await waitFor("the ownership check to wait on the lock", async () => {
      const { rows: waiting } = await h.pool.query("SELECT 1 FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND query LIKE '%FROM batch_jobs%'");
      return waiting.length > 0 ? true : undefined;
    }, 10_000, 20);
    h.pipeline.hub.closeStreams();
    await locker.query("COMMIT");

    const events = await stream;
    // Ended by the server well before the client's own 15 s timeout, with no live events.
    expect(Date.now() - started).toBeLessThan(10_000);
    expect(events.filter((event) => event.event === "progress" || event.event === "item")).toEqual([]);
  }, 30_000);
});
