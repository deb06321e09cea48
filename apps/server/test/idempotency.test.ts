import { randomUUID } from "node:crypto";
import type { BatchControlResponse, BatchDetail } from "@batchgen/types";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { batchRow, startPipelineHarness, waitFor, type PipelineHarness, type TestUser } from "./support/pipeline.ts";

// Idempotency-Key on create and on the controls, against the real app and real PostgreSQL
// (docs/decisions/idempotency-keys.md).
let h: PipelineHarness;

beforeAll(async () => {
  // Slow generation: the batches here stay running while the tests look at them.
  h = await startPipelineHarness({ simulated: { latencyMedianMs: 2_000 } });
});
afterAll(async () => {
  if (h) {
    // Nothing left generating when the harness closes.
    await h.pool.query(
      `WITH gone AS (UPDATE batch_jobs SET status = 'cancelled' WHERE status IN ('running', 'paused') RETURNING id)
       UPDATE batch_items SET status = 'cancelled' WHERE status = 'pending' AND batch_id IN (SELECT id FROM gone)`,
    );
    await waitFor("no item generating", async () =>
      (await h.pool.query("SELECT 1 FROM batch_items WHERE status = 'generating' LIMIT 1")).rowCount === 0 ? true : undefined,
    );
  }
  await h?.close();
});

interface Answer<T> {
  status: number;
  replayed: string | null;
  location: string | null;
  body: { data: T; error: { code: string; message: string; details?: Record<string, unknown> } | null };
}

/** A POST with headers visible (the harness's api() does not return them). */
async function post<T>(user: TestUser, path: string, body: unknown, headers: Record<string, string> = {}): Promise<Answer<T>> {
  const response = await fetch(`${h.apiUrl}${path}`, {
    method: "POST",
    headers: { Authorization: `Bearer ${user.token}`, "Content-Type": "application/json", ...headers },
    body: typeof body === "string" ? body : JSON.stringify(body),
  });
  return {
    status: response.status,
    replayed: response.headers.get("idempotent-replayed"),
    location: response.headers.get("location"),
    body: (await response.json()) as Answer<T>["body"],
  };
}

const create = (user: TestUser, body: unknown, key?: string) =>
  post<BatchDetail>(user, "/api/v1/generation/batch", body, key === undefined ? {} : { "Idempotency-Key": key });

const body = { topic: "Renal physiology", questionType: "single_best_answer", difficulty: "medium", count: 30, concurrency: 1 } as const;

async function batchesOf(user: TestUser): Promise<string[]> {
  const { rows } = await h.pool.query<{ id: string }>("SELECT id FROM batch_jobs WHERE user_id = $1 ORDER BY created_at", [user.sub]);
  return rows.map((row) => row.id);
}

async function outboxRowsOf(user: TestUser): Promise<number> {
  const { rows } = await h.pool.query<{ n: number }>(
    "SELECT count(*)::int AS n FROM event_outbox WHERE (data->>'batchId')::uuid IN (SELECT id FROM batch_jobs WHERE user_id = $1)",
    [user.sub],
  );
  return rows[0]!.n;
}

describe("POST /generation/batch with an Idempotency-Key", () => {
  it("the same key and the same request replay the first 201: the same batch, marked replayed, and one batch in the database", async () => {
    const user = await h.createUser("faculty");
    const key = `create-${randomUUID()}`;
    const first = await create(user, body, key);
    expect(first.status).toBe(201);
    expect(first.replayed).toBeNull();
    const batchId = first.body.data.id;

    const retry = await create(user, body, key);
    expect(retry.status).toBe(201);
    expect(retry.replayed).toBe("true");
    expect(retry.location).toBe(`/api/v1/generation/batch/${batchId}`);
    expect(retry.body).toEqual(first.body);

    // The same request after validation: other key order, the defaults spelled out, the topic padded.
    const respelled = `{"concurrency":1,"generator":"simulated","count":30,"difficulty":"medium","questionType":"single_best_answer","topic":"  Renal physiology "}`;
    const again = await create(user, respelled, key);
    expect(again.status).toBe(201);
    expect(again.body.data.id).toBe(batchId);
    expect(await batchesOf(user)).toEqual([batchId]);
    const { rows } = await h.pool.query<{ n: number }>("SELECT count(*)::int AS n FROM batch_items WHERE batch_id = $1", [batchId]);
    expect(rows[0]!.n).toBe(body.count);

    // Keys are per user: another user's same key is another key.
    const other = await h.createUser("faculty");
    const theirs = await create(other, body, key);
    expect(theirs.status).toBe(201);
    expect(theirs.replayed).toBeNull();
    expect(theirs.body.data.id).not.toBe(batchId);
    // Without a key, every create is a new batch.
    expect((await create(user, body)).body.data.id).not.toBe(batchId);
    expect(await batchesOf(user)).toHaveLength(2);
  });

  it("the same key with a different request is 422 IDEMPOTENCY_CONFLICT naming the fields, and writes nothing", async () => {
    const user = await h.createUser("faculty");
    const key = `create-${randomUUID()}`;
    const first = await create(user, body, key);
    expect(first.status).toBe(201);
    const before = { batches: await batchesOf(user), outbox: await outboxRowsOf(user) };
    const keyRow = async () =>
      (await h.pool.query<Record<string, unknown>>("SELECT request, batch_id, response, created_at FROM batch_create_idempotency_keys WHERE user_id = $1", [user.sub])).rows;
    const storedKey = await keyRow();

    for (const [changed, fields] of [
      [{ ...body, count: 31 }, ["count"]],
      [{ ...body, topic: "Cardiology" }, ["topic"]],
      [{ ...body, concurrency: 5 }, ["concurrency"]],
      [{ ...body, difficulty: "hard", questionType: "clinical_vignette" }, ["difficulty", "questionType"]],
    ] as const) {
      const conflict = await create(user, changed, key);
      expect(conflict.status, JSON.stringify(changed)).toBe(422);
      expect(conflict.body.data).toBeNull();
      expect(conflict.body.error).toMatchObject({ code: "IDEMPOTENCY_CONFLICT", details: { idempotencyKey: key, fields, batchId: first.body.data.id } });
    }
    expect(await batchesOf(user)).toEqual(before.batches);
    expect(await outboxRowsOf(user)).toBe(before.outbox);
    expect(await keyRow()).toEqual(storedKey);
    // The first request with its key is still answered as before.
    expect((await create(user, body, key)).body).toEqual(first.body);
  });

  it("20 concurrent creates with one key make exactly one batch; every answer is 201 with its id", async () => {
    const user = await h.createUser("faculty");
    const key = `create-${randomUUID()}`;
    // A large batch makes the first transaction long, so the others arrive while it is open.
    const big = { ...body, count: 2_000 };
    const answers = await Promise.all(Array.from({ length: 20 }, () => create(user, big, key)));
    expect(answers.map((answer) => answer.status)).toEqual(Array(20).fill(201));
    const ids = new Set(answers.map((answer) => answer.body.data.id));
    expect(ids.size).toBe(1);
    const [batchId] = [...ids];
    expect(answers.filter((answer) => answer.replayed === null)).toHaveLength(1);
    expect(answers.filter((answer) => answer.replayed === "true")).toHaveLength(19);
    expect(await batchesOf(user)).toEqual([batchId]);
    const { rows } = await h.pool.query<{ items: number; started: number }>(
      `SELECT (SELECT count(*)::int FROM batch_items WHERE batch_id = $1) AS items,
              (SELECT count(*)::int FROM event_outbox WHERE name = 'batch.started' AND data->>'batchId' = $1::text) AS started`,
      [batchId],
    );
    expect(rows[0]).toEqual({ items: 2_000, started: 1 });
    await h.api(user, "POST", `/api/v1/generation/batch/${batchId}/cancel`);
  });

  it("a malformed Idempotency-Key is 400 naming the header, and creates nothing", async () => {
    const user = await h.createUser("faculty");
    for (const key of ["x".repeat(256), "has space", "tab\there"]) {
      const answer = await create(user, body, key);
      expect(answer.status, key).toBe(400);
      expect(answer.body.error).toMatchObject({ code: "VALIDATION_ERROR", details: { field: "Idempotency-Key" } });
    }
    expect(await batchesOf(user)).toEqual([]);
    // 255 visible characters is the longest key.
    expect((await create(user, body, "k".repeat(255))).status).toBe(201);
  });

  it("after 24 hours a key is forgotten: housekeeping deletes it, and reusing it creates a new batch", async () => {
    const user = await h.createUser("faculty");
    const key = `create-${randomUUID()}`;
    const first = await create(user, body, key);
    expect(first.status).toBe(201);
    await h.pool.query("UPDATE batch_create_idempotency_keys SET created_at = now() - interval '25 hours' WHERE user_id = $1", [user.sub]);
    // Past the window the key is free again, even for another request.
    const reused = await create(user, { ...body, count: 7 }, key);
    expect(reused.status).toBe(201);
    expect(reused.replayed).toBeNull();
    expect(reused.body.data.id).not.toBe(first.body.data.id);
    const stored = await h.pool.query<{ batch_id: string }>("SELECT batch_id FROM batch_create_idempotency_keys WHERE user_id = $1", [user.sub]);
    expect(stored.rows).toEqual([{ batch_id: reused.body.data.id }]);

    await h.pool.query("UPDATE batch_create_idempotency_keys SET created_at = now() - interval '25 hours' WHERE user_id = $1", [user.sub]);
    const fresh = await h.createUser("faculty");
    expect((await create(fresh, body, key)).status).toBe(201);
    await h.pipeline.outbox.forgetExpired();
    const left = await h.pool.query<{ user_id: string }>("SELECT user_id FROM batch_create_idempotency_keys WHERE idempotency_key = $1", [key]);
    expect(left.rows).toEqual([{ user_id: fresh.sub }]);
  });
});

describe("control POSTs: the same Idempotency-Key with a different body", () => {
  it("a different reason is 422 IDEMPOTENCY_CONFLICT and changes nothing; the same reason (also in the story's body) replays", async () => {
    const user = await h.createUser("faculty");
    const created = await create(user, body);
    const batchId = created.body.data.id;
    const control = (action: string, payload: unknown, key: string) =>
      post<BatchControlResponse>(user, `/api/v1/generation/batch/${batchId}/${action}`, payload, { "Idempotency-Key": key });
    const history = async () => (await h.pool.query("SELECT id FROM batch_control_events WHERE batch_id = $1", [batchId])).rowCount;

    const key = `pause-${randomUUID()}`;
    const first = await control("pause", { reason: "lunch" }, key);
    expect(first.status).toBe(200);
    expect((await h.api(user, "POST", `/api/v1/generation/batch/${batchId}/resume`)).status).toBe(200);
    const events = await history();

    for (const payload of [{ reason: "a meeting" }, {}, { action: "pause" }, { action: "pause", reason: "Lunch" }]) {
      const conflict = await control("pause", payload, key);
      expect(conflict.status, JSON.stringify(payload)).toBe(422);
      expect(conflict.body.error).toMatchObject({ code: "IDEMPOTENCY_CONFLICT", details: { idempotencyKey: key, fields: ["reason"], originalAction: "pause" } });
    }
    expect((await batchRow(h.pool, batchId)).status).toBe("running");
    expect(await history()).toBe(events);

    for (const payload of [{ reason: "lunch" }, { action: "pause", reason: "lunch" }]) {
      const retry = await control("pause", payload, key);
      expect(retry.status).toBe(200);
      expect(retry.replayed).toBe("true");
      expect(retry.body).toEqual(first.body);
    }
    expect((await batchRow(h.pool, batchId)).status).toBe("running");

    // Another action with the key is a conflict too (details name the action).
    const cancel = await control("cancel", { reason: "lunch" }, key);
    expect(cancel.status).toBe(422);
    expect(cancel.body.error).toMatchObject({ code: "IDEMPOTENCY_CONFLICT", details: { fields: ["action"], originalAction: "pause", action: "cancel" } });
    expect(await history()).toBe(events);
    await h.api(user, "POST", `/api/v1/generation/batch/${batchId}/cancel`);
  });
});

describe("a replay is the first answer byte for byte", () => {
  /** A POST's answer as raw text, with the headers a cache or a client compares. */
  async function raw(user: TestUser, path: string, payload: unknown, key: string) {
    const response = await fetch(`${h.apiUrl}${path}`, {
      method: "POST",
      headers: { Authorization: `Bearer ${user.token}`, "Content-Type": "application/json", "Idempotency-Key": key },
      body: JSON.stringify(payload),
    });
    return {
      status: response.status,
      replayed: response.headers.get("idempotent-replayed"),
      etag: response.headers.get("etag"),
      contentType: response.headers.get("content-type"),
      text: await response.text(),
    };
  }

  it("create: the replayed 201 has the same bytes (key order included) and the same ETag as the first", async () => {
    const user = await h.createUser("faculty");
    const key = `bytes-${randomUUID()}`;
    const first = await raw(user, "/api/v1/generation/batch", body, key);
    expect(first.status).toBe(201);
    expect(first.replayed).toBeNull();
    for (let retry = 0; retry < 2; retry++) {
      const again = await raw(user, "/api/v1/generation/batch", body, key);
      expect(again.status).toBe(201);
      expect(again.replayed).toBe("true");
      expect(again.text).toBe(first.text);
      expect(again.contentType).toBe(first.contentType);
      expect(again.etag).not.toBeNull();
      expect(again.etag).toBe(first.etag);
    }
    expect(first.contentType).toBe("application/json; charset=utf-8");
    await h.api(user, "POST", `/api/v1/generation/batch/${(JSON.parse(first.text) as { data: BatchDetail }).data.id}/cancel`);
  });

  it("control: the replayed 200 has the same bytes and the same ETag as the first", async () => {
    const user = await h.createUser("faculty");
    const batchId = (await create(user, body)).body.data.id;
    const key = `bytes-${randomUUID()}`;
    const path = `/api/v1/generation/batch/${batchId}/pause`;
    const first = await raw(user, path, { reason: "lunch — back at 2 ☕" }, key);
    expect(first.status).toBe(200);
    expect(first.replayed).toBeNull();
    const again = await raw(user, path, { action: "pause", reason: "lunch — back at 2 ☕" }, key);
    expect(again.status).toBe(200);
    expect(again.replayed).toBe("true");
    expect(again.text).toBe(first.text);
    expect(again.contentType).toBe(first.contentType);
    expect(again.etag).not.toBeNull();
    expect(again.etag).toBe(first.etag);
    await h.api(user, "POST", `/api/v1/generation/batch/${batchId}/cancel`);
  });
});
