import { get as httpGet, type IncomingMessage } from "node:http";
import { parse as parseStream } from "csv-parse";
import { parse } from "csv-parse/sync";
import { generatedQuestionSchema, type BatchControlResponse, type BatchDetail, type BatchItem, type BatchStatusTransition } from "@batchgen/types";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { batchRow, startPipelineHarness, waitFor, waitForStatus, type PipelineHarness, type TestUser } from "../support/pipeline.ts";

// Retry the failed items of a finished batch, and take the questions away as JSON or CSV.

let h: PipelineHarness;
let owner: TestUser;
/** Positions that fail (permanently) while their batch's topic is in this map. */
const failing = new Map<string, Set<number>>();
/** The attempt numbers the generator was given, per topic and position. */
const attemptsSeen = new Map<string, number[]>();
const SLOW_RETRY = new Set<string>();

beforeAll(async () => {
  h = await startPipelineHarness({
    simulated: {
      latencyMedianMs: 30,
      behaviour: (input) => {
        const key = `${input.topic}#${input.position}`;
        attemptsSeen.set(key, [...(attemptsSeen.get(key) ?? []), input.attempt]);
        if (failing.get(input.topic)?.has(input.position)) return { fail: "permanent" };
        if (SLOW_RETRY.has(input.topic)) return { latencyMs: 400 };
        return undefined;
      },
    },
  });
  owner = await h.createUser("faculty");
});
afterAll(async () => {
  await h?.close();
});

const base = { questionType: "single_best_answer", difficulty: "medium" } as const;

async function finishedWithFailures(topic: string, count: number, failed: number[], concurrency = 3): Promise<string> {
  failing.set(topic, new Set(failed));
  const created = await h.api<BatchDetail>(owner, "POST", "/api/v1/generation/batch", { ...base, topic, count, concurrency });
  expect(created.status).toBe(201);
  const batchId = created.body.data.id;
  await waitForStatus(h.pool, batchId, ["completed_with_errors", "failed"]);
  return batchId;
}

function retry(batchId: string, user: TestUser | null = owner, headers: Record<string, string> = {}) {
  return h.api<BatchControlResponse>(user, "POST", `/api/v1/generation/batch/${batchId}/retry-failed`, undefined, headers);
}

async function items(batchId: string) {
  const { rows } = await h.pool.query<{ position: number; status: string; attempts: number; result: unknown; finished_at: Date | null; error: string | null; attempt_history: { attempts: number; error: string }[] }>(
    "SELECT position, status, attempts, result, finished_at, error, attempt_history FROM batch_items WHERE batch_id = $1 ORDER BY position",
    [batchId],
  );
  return rows;
}

async function finishedEvents(batchId: string) {
  const { rows } = await h.pool.query<{ id: string; status: string }>(
    "SELECT id, body -> 'data' ->> 'status' AS status FROM engine.events WHERE name = 'batch.finished' AND body -> 'data' ->> 'batchId' = $1 ORDER BY received_at",
    [batchId],
  );
  return rows;
}

describe("retry the failed items (real Postgres, real engine)", () => {
  it("from completed_with_errors: only the failed items run again, the batch ends completed, the rest is untouched, and the history and the items keep what happened", async () => {
    const topic = "Retry cardiology";
    const batchId = await finishedWithFailures(topic, 12, [2, 7]);
    const before = await items(batchId);
    expect(before.filter((item) => item.status === "failed").map((item) => item.position)).toEqual([2, 7]);

    failing.delete(topic);
    const retried = await retry(batchId);
    expect(retried.status).toBe(200);
    expect(retried.body.data).toMatchObject({ batchId, previousStatus: "completed_with_errors", newStatus: "running", action: "retry_failed" });
    const done = await waitForStatus(h.pool, batchId, ["completed", "completed_with_errors", "failed"]);
    expect(done).toMatchObject({ status: "completed", completed_items: 12, failed_items: 0 });

    const after = await items(batchId);
    for (const item of after) {
      const was = before[item.position]!;
      if ([2, 7].includes(item.position)) {
        expect(item).toMatchObject({ status: "completed", attempts: 1, error: null });
        expect(generatedQuestionSchema.safeParse(item.result).success).toBe(true);
        expect(item.attempt_history).toEqual([expect.objectContaining({ attempts: 1, error: expect.stringMatching(/permanent/) })]);
        // The generator sees the item's second attempt, not a first try again (a deterministic
        // generator would otherwise fail the same way).
        expect(attemptsSeen.get(`${topic}#${item.position}`)).toEqual([1, 2]);
      } else {
        expect(item).toEqual(was);
      }
    }
    const history = await h.api<{ items: BatchStatusTransition[] }>(owner, "GET", `/api/v1/generation/batch/${batchId}/history`);
    expect(history.body.data.items[0]).toMatchObject({ action: "retry_failed", previousStatus: "completed_with_errors", newStatus: "running", actorId: owner.sub });
    // Both ends were announced: the first one and the one after the retry.
    await waitFor("two batch.finished", async () => ((await finishedEvents(batchId)).length === 2 ? true : undefined));
    expect((await finishedEvents(batchId)).map((event) => event.status)).toEqual(["completed_with_errors", "completed"]);
  }, 60_000);

  it("items that fail again leave the batch completed_with_errors again, each with both failures in its history; a failed batch can be retried too", async () => {
    const topic = "Retry all fail";
    const batchId = await finishedWithFailures(topic, 3, [0, 1, 2]);
    expect((await batchRow(h.pool, batchId)).status).toBe("failed");
    failing.set(topic, new Set([1]));
    expect((await retry(batchId)).body.data).toMatchObject({ previousStatus: "failed", newStatus: "running" });
    const done = await waitForStatus(h.pool, batchId, ["completed", "completed_with_errors", "failed"]);
    expect(done).toMatchObject({ status: "completed_with_errors", completed_items: 2, failed_items: 1 });
    const again = await items(batchId);
    expect(again[1]).toMatchObject({ status: "failed", error: expect.stringMatching(/permanent/) });
    expect(again[1]!.attempt_history).toHaveLength(1);
    failing.delete(topic);
    expect((await retry(batchId)).status).toBe(200);
    await waitForStatus(h.pool, batchId, ["completed"]);
    expect((await items(batchId))[1]!.attempt_history).toHaveLength(2);
  }, 60_000);

  it("pause, resume and cancel work on a retried batch; completed items are never touched", async () => {
    const topic = "Retry then control";
    const batchId = await finishedWithFailures(topic, 10, [0, 1, 2, 3, 4, 5], 1);
    const before = await items(batchId);
    failing.delete(topic);
    SLOW_RETRY.add(topic);
    expect((await retry(batchId)).status).toBe(200);
    await waitFor("a retried item in flight", async () => ((await batchRow(h.pool, batchId)).generating_items === 1 ? true : undefined));
    expect((await h.api(owner, "POST", `/api/v1/generation/batch/${batchId}/pause`)).status).toBe(200);
    await waitForStatus(h.pool, batchId, ["paused"]);
    expect((await h.api(owner, "POST", `/api/v1/generation/batch/${batchId}/resume`)).status).toBe(200);
    await waitFor("another retried item done", async () => ((await batchRow(h.pool, batchId)).completed_items >= 6 ? true : undefined));
    expect((await h.api(owner, "POST", `/api/v1/generation/batch/${batchId}/cancel`)).status).toBe(200);
    const done = await waitFor("cancelled and finished", async () => {
      const row = await batchRow(h.pool, batchId);
      return row.finished_at ? row : undefined;
    });
    expect(done.status).toBe("cancelled");
    const after = await items(batchId);
    for (const item of after.filter((each) => each.position >= 6)) expect(item).toEqual(before[item.position]);
    expect(after.every((item) => item.status === "completed" || item.status === "cancelled")).toBe(true);
  }, 60_000);

  it("409 from every other status, idempotent replay, and 401/403/404", async () => {
    const statuses = ["running", "paused", "completed", "cancelled"] as const;
    for (const status of statuses) {
      const { rows } = await h.pool.query<{ id: string }>("INSERT INTO batch_jobs (user_id, status, total_items, config) VALUES ($1, $2, 1, $3) RETURNING id", [
        owner.sub,
        status,
        JSON.stringify({ ...base, topic: "x", count: 1, concurrency: 1, generator: "simulated" }),
      ]);
      const response = await retry(rows[0]!.id);
      expect(response.status, status).toBe(409);
      expect(response.body.error).toMatchObject({
        code: "INVALID_TRANSITION",
        message: `Cannot retry the failed items of a batch that is ${status}`,
        details: { currentStatus: status, action: "retry_failed" },
      });
    }

    const topic = "Retry replay";
    const batchId = await finishedWithFailures(topic, 4, [3]);
    failing.delete(topic);
    const key = { "Idempotency-Key": "retry-once" };
    const first = await retry(batchId, owner, key);
    expect(first.status).toBe(200);
    await waitForStatus(h.pool, batchId, ["completed"]);
    const again = await retry(batchId, owner, key);
    expect(again.status).toBe(200);
    expect(again.body).toEqual(first.body);
    const { rows } = await h.pool.query<{ n: number }>("SELECT count(*)::int AS n FROM batch_control_events WHERE batch_id = $1 AND action = 'retry_failed'", [batchId]);
    expect(rows[0]!.n).toBe(1);

    const colleague = await h.createUser("faculty");
    const student = await h.createUser("student");
    expect((await retry(batchId, colleague)).status).toBe(403);
    expect((await retry(batchId, student)).status).toBe(403);
    expect((await retry(batchId, null)).status).toBe(401);
    expect((await retry("00000000-0000-4000-8000-000000000000")).status).toBe(404);
  }, 60_000);
});

describe("download the questions", () => {
  let batchId = "";
  let apiItems: BatchItem[] = [];

  beforeAll(async () => {
    const topic = "Export pharmacology";
    batchId = await finishedWithFailures(topic, 8, [4]);
    // One question with everything CSV must escape: a comma, a quote, a line break.
    await h.pool.query(
      `UPDATE batch_items SET result = jsonb_set(result, '{stem}', to_jsonb('A stem, with "quotes"' || chr(10) || 'and a second line'::text))
       WHERE batch_id = $1 AND position = 0`,
      [batchId],
    );
    const listed = await h.api<{ items: BatchItem[] }>(owner, "GET", `/api/v1/generation/batch/${batchId}/items?limit=50`);
    apiItems = listed.body.data.items.filter((item) => item.status === "completed");
  }, 60_000);

  async function download(format: string, user: TestUser = owner) {
    const response = await fetch(`${h.apiUrl}/api/v1/generation/batch/${batchId}/questions?format=${format}`, {
      headers: { Authorization: `Bearer ${user.token}` },
    });
    return { status: response.status, headers: response.headers, text: await response.text() };
  }

  it("JSON: every completed question in position order, as the items API has them", async () => {
    const file = await download("json");
    expect(file.status).toBe(200);
    expect(file.headers.get("content-type")).toMatch(/^application\/json/);
    expect(file.headers.get("content-disposition")).toBe(`attachment; filename="batch-${batchId}-questions.json"`);
    const questions = JSON.parse(file.text) as { position: number }[];
    expect(questions).toEqual(apiItems.map((item) => ({ position: item.position, ...(item.result as object) })));
    expect(questions.map((question) => question.position)).toEqual([0, 1, 2, 3, 5, 6, 7]);
  });

  it("CSV: RFC 4180 (CRLF, quoted fields), one row per completed question with its five options, answer and explanation", async () => {
    const file = await download("csv");
    expect(file.status).toBe(200);
    expect(file.headers.get("content-type")).toMatch(/^text\/csv/);
    expect(file.text.split("\r\n")[0]).toBe("position,stem,option_a,option_b,option_c,option_d,option_e,answer,explanation");
    const rows = parse<Record<string, string>>(file.text, { columns: true, record_delimiter: "\r\n" });
    expect(rows).toHaveLength(apiItems.length);
    rows.forEach((row, index) => {
      const item = apiItems[index]!;
      const question = generatedQuestionSchema.parse(item.result);
      expect(row).toEqual({
        position: String(item.position),
        stem: question.stem,
        option_a: question.options[0]!.text,
        option_b: question.options[1]!.text,
        option_c: question.options[2]!.text,
        option_d: question.options[3]!.text,
        option_e: question.options[4]!.text,
        answer: question.answer,
        explanation: question.explanation,
      });
    });
    expect(rows[0]!.stem).toBe('A stem, with "quotes"\nand a second line');
  });

  it("an unknown format is 400 naming the field; another user's batch is 403; an unknown batch 404", async () => {
    const bad = await download("xml");
    expect(bad.status).toBe(400);
    expect(JSON.parse(bad.text)).toMatchObject({ error: { code: "VALIDATION_ERROR", message: expect.stringMatching(/format/) } });
    expect((await download("csv", await h.createUser("faculty"))).status).toBe(403);
    const missing = await fetch(`${h.apiUrl}/api/v1/generation/batch/00000000-0000-4000-8000-000000000000/questions`, { headers: { Authorization: `Bearer ${owner.token}` } });
    expect(missing.status).toBe(404);
  });

  it("10,000 questions, 12 downloads whose readers stall (more than the pool's 10 connections): they hold no connection, the API keeps answering, and each file then arrives whole", async () => {
    const { rows } = await h.pool.query<{ id: string }>(
      "INSERT INTO batch_jobs (user_id, status, total_items, completed_items, config, finished_at) VALUES ($1, 'completed', 10000, 10000, $2, now()) RETURNING id",
      [owner.sub, JSON.stringify({ ...base, topic: "Big export", count: 10_000, concurrency: 5, generator: "simulated" })],
    );
    const bigId = rows[0]!.id;
    // Long stems (1.3 KB): each file is about 15 MB, more than a loopback socket's buffers hold for a
    // reader that stops reading, so the server's writes back up.
    const question = { ...(apiItems[1]!.result as object), stem: "A long stem. ".repeat(100) };
    await h.pool.query(
      "INSERT INTO batch_items (batch_id, position, status, attempts, result, finished_at) SELECT $1, n, 'completed', 1, $2, now() FROM generate_series(0, 9999) AS n",
      [bigId, JSON.stringify(question)],
    );
    // Each reader takes the response's first chunk and then stops reading the socket.
    const downloads = Array.from({ length: 12 }, () => {
      let response: IncomingMessage | undefined;
      const started = new Promise<void>((resolve, reject) => {
        const request = httpGet(
          `${h.apiUrl}/api/v1/generation/batch/${bigId}/questions?format=csv`,
          { headers: { Authorization: `Bearer ${owner.token}` }, agent: false },
          (res) => {
            response = res;
            res.pause();
            resolve();
          },
        );
        request.on("error", reject);
      });
      /** Reads the rest through a streaming CSV parser: the positions, in order. */
      const finish = async () => {
        const res = response!;
        const positions: number[] = [];
        const records = res.pipe(parseStream({ columns: true }));
        for await (const record of records as AsyncIterable<{ position: string }>) positions.push(Number(record.position));
        return { status: res.statusCode, positions };
      };
      return { started, finish };
    });
    await Promise.all(downloads.map((each) => each.started));
    // Every download reads pages until its socket backs up; then none has a query running.
    const exportQueries = async () =>
      (
        await h.pool.query<{ n: number }>(
          "SELECT count(*)::int AS n FROM pg_stat_activity WHERE query LIKE '%FROM batch_items%position > $2%' AND state <> 'idle' AND pid <> pg_backend_pid()",
        )
      ).rows[0]!.n;
    const quietForASecond = async () => {
      for (let sample = 0; sample < 5; sample += 1) {
        if ((await exportQueries()) !== 0) return undefined;
        await new Promise((resolve) => setTimeout(resolve, 200));
      }
      return true;
    };
    await waitFor("the downloads to stall, with no export query running for a second", quietForASecond);
    // Before, each stalled download held a pooled connection on a server-side cursor: the 11th
    // request on the pool waited for its connection and the API answered 503.
    const detail = await h.api<BatchDetail>(owner, "GET", `/api/v1/generation/batch/${bigId}`);
    expect(detail.status).toBe(200);
    expect((await fetch(`${h.apiUrl}/health`)).status).toBe(200);

    const files = await Promise.all(downloads.map((each) => each.finish()));
    const all = Array.from({ length: 10_000 }, (_, n) => n);
    for (const file of files) {
      expect(file.status).toBe(200);
      expect(file.positions).toEqual(all);
    }
  }, 120_000);
});
