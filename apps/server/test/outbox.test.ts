import { createPool, type Pool } from "@batchgen/db";
import { createTestDatabase, type TestDatabase } from "@batchgen/db/testing";
import { batchStartedEvent } from "@batchgen/types";
import { pino } from "pino";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { enqueueEvent } from "../src/repositories/event-outbox.repository.ts";
import { OutboxDispatcher } from "../src/services/outbox-dispatcher.service.ts";

// An engine that never answers must not hold up the API: a send has a time limit, after which the
// row is left for the poller (the late send may still land; the event id makes that a duplicate the
// engine does not start a second run for).

let db: TestDatabase;
let pool: Pool;

beforeAll(async () => {
  db = await createTestDatabase(inject("pgAdminUrl"));
  pool = createPool(db.url, { max: 4 });
});
afterAll(async () => {
  await pool?.end();
  await db?.drop();
});

describe("outbox delivery with a hanging engine", () => {
  it("a send that does not answer within the limit is marked failed for a retry, and stop() does not wait for it", async () => {
    let sends = 0;
    const hanging = {
      send: () => {
        sends += 1;
        return new Promise<never>(() => undefined);
      },
    };
    const outbox = new OutboxDispatcher(pool, hanging, pino({ level: "silent" }), {
      pollIntervalMs: 60_000,
      batchSize: 10,
      maxBackoffMs: 15_000,
      sendTimeoutMs: 200,
    });
    const id = await enqueueEvent(pool, batchStartedEvent("00000000-0000-4000-8000-000000000001", 1));
    const started = Date.now();
    await outbox.flush([id]);
    expect(Date.now() - started).toBeLessThan(2_000);
    expect(sends).toBe(1);
    const { rows } = await pool.query<{ sent_at: Date | null; attempts: number; last_error: string; retry_in: number }>(
      "SELECT sent_at, attempts, last_error, extract(epoch FROM next_attempt_at - now())::float8 AS retry_in FROM event_outbox WHERE id = $1",
      [id],
    );
    expect(rows[0]).toMatchObject({ sent_at: null, attempts: 1, last_error: expect.stringMatching(/timed out after 200 ms/) });
    expect(rows[0]!.retry_in).toBeGreaterThan(0);

    outbox.start();
    const stopping = Date.now();
    await outbox.stop();
    expect(Date.now() - stopping).toBeLessThan(2_000);
  });
});
