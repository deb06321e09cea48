import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { collectStream, startPipelineHarness, waitFor, type PipelineHarness, type SseEvent, type TestUser } from "../support/pipeline.ts";

// A change that commits while a stream reads its snapshot must reach the stream, even when its
// transaction began before the change the snapshot shows (updated_at is a transaction's start
// time, so it can be older for a change that committed later).

let h: PipelineHarness;
let owner: TestUser;
const clients: pg.Client[] = [];

async function connect(): Promise<pg.Client> {
  const client = new pg.Client({ connectionString: h.db.url });
  await client.connect();
  clients.push(client);
  return client;
}

beforeAll(async () => {
  h = await startPipelineHarness();
  owner = await h.createUser("faculty");
});
afterAll(async () => {
  for (const client of clients) await client.end().catch(() => undefined);
  await h?.close();
});

describe("the live feed and commit order", () => {
  it("a pause that began before, but committed after, the change in the snapshot is still delivered", async () => {
    // A batch no orchestrator touches (no batch.started was sent), so only this test changes it.
    const { rows } = await h.pool.query<{ id: string }>(
      "INSERT INTO batch_jobs (user_id, status, total_items, config, started_at) VALUES ($1, 'running', 10, $2, now()) RETURNING id",
      [owner.sub, JSON.stringify({ topic: "Order", questionType: "single_best_answer", difficulty: "easy", count: 10, concurrency: 1, generator: "simulated" })],
    );
    const batchId = rows[0]!.id;
    const [pause, other, itemsLock] = [await connect(), await connect(), await connect()];

    await pause.query("BEGIN");
    await pause.query("SELECT 1"); // its now() is taken here
    await new Promise((resolve) => setTimeout(resolve, 20));
    await other.query("BEGIN");
    await other.query("UPDATE batch_jobs SET failed_items = failed_items + 1 WHERE id = $1", [batchId]);
    const pausing = pause.query("UPDATE batch_jobs SET status = 'paused', paused_at = now() WHERE id = $1", [batchId]);
    await other.query("COMMIT"); // the pause now holds the row, with the older updated_at
    await pausing;

    // Hold the snapshot's read of recent finishes, so the pause commits while it is being read.
    await itemsLock.query("BEGIN");
    await itemsLock.query("LOCK TABLE batch_items IN ACCESS EXCLUSIVE MODE");
    const stream = collectStream(
      `${h.apiUrl}/api/v1/generation/batch/${batchId}/stream`,
      owner.token,
      (event) => event.event === "progress" && (event.data.batch as { status: string }).status === "paused",
      8_000,
    );
    await waitFor("the snapshot to wait on the lock", async () => {
      const { rows: waiting } = await h.pool.query(
        "SELECT 1 FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND query LIKE '%FROM batch_items%'",
      );
      return waiting.length > 0 ? true : undefined;
    }, 10_000, 20);
    await pause.query("COMMIT");
    await new Promise((resolve) => setTimeout(resolve, 200));
    await itemsLock.query("COMMIT");

    const events: SseEvent[] = await stream;
    expect((events[0]?.data.batch as { status: string } | undefined)?.status).toBe("running");
    expect(events.at(-1)).toMatchObject({ event: "progress", data: { batch: { status: "paused", failedItems: 1 } } });
  }, 30_000);

  it("after the listener reconnects, a change that commits while the fresh snapshot is read comes after it: the counters never go back", async () => {
    const { rows } = await h.pool.query<{ id: string }>(
      "INSERT INTO batch_jobs (user_id, status, total_items, config, started_at) VALUES ($1, 'running', 10, $2, now()) RETURNING id",
      [owner.sub, JSON.stringify({ topic: "Resync", questionType: "single_best_answer", difficulty: "easy", count: 10, concurrency: 1, generator: "simulated" })],
    );
    const batchId = rows[0]!.id;
    const [writer, itemsLock] = [await connect(), await connect()];
    let snapshots = 0;
    let sawChange = false;
    const stream = collectStream(
      `${h.apiUrl}/api/v1/generation/batch/${batchId}/stream`,
      owner.token,
      (event) => {
        if (event.event === "snapshot") snapshots += 1;
        if (event.event === "progress" && (event.data.batch as { failedItems: number }).failedItems === 1) sawChange = true;
        return snapshots >= 2 && sawChange;
      },
      15_000,
    );
    await waitFor("the first snapshot", () => Promise.resolve(snapshots >= 1 ? true : undefined), 10_000, 20);

    // The fresh snapshot's read of recent finishes waits on this lock; the listener is cut, so the
    // hub reconnects and asks every stream for a fresh snapshot.
    await itemsLock.query("BEGIN");
    await itemsLock.query("LOCK TABLE batch_items IN ACCESS EXCLUSIVE MODE");
    await h.pool.query("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'batchgen-api-listen'");
    await waitFor("the resync snapshot to wait on the lock", async () => {
      const { rows: waiting } = await h.pool.query(
        "SELECT 1 FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND query LIKE '%FROM batch_items%'",
      );
      return waiting.length > 0 ? true : undefined;
    }, 10_000, 20);
    // Committed after the snapshot read the batch row: its notification reaches the stream first.
    await writer.query("UPDATE batch_jobs SET failed_items = failed_items + 1 WHERE id = $1", [batchId]);
    await new Promise((resolve) => setTimeout(resolve, 300));
    await itemsLock.query("COMMIT");

    const events: SseEvent[] = await stream;
    const counts = events
      .filter((event) => event.event === "snapshot" || event.event === "progress")
      .map((event) => (event.data.batch as { failedItems: number }).failedItems);
    expect(counts).toEqual([...counts].sort((a, b) => a - b));
    expect(counts.at(-1)).toBe(1);
    const secondSnapshot = events.findIndex((event, index) => event.event === "snapshot" && index > 0);
    expect(secondSnapshot).toBeGreaterThan(0);
    expect((events[secondSnapshot]!.data.batch as { failedItems: number }).failedItems).toBe(0);
  }, 30_000);
});
