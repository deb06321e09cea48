import { get as httpGet, type IncomingMessage } from "node:http";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startPipelineHarness, waitFor, type PipelineHarness, type TestUser } from "../support/pipeline.ts";

// A download whose client stops reading is cut after the idle window (downloadIdleMs), so a
// stalled reader cannot hold a socket and a page of rows for ever.

const IDLE_MS = 400;
let h: PipelineHarness;
let owner: TestUser;
let bigId = "";

beforeAll(async () => {
  h = await startPipelineHarness({ settings: { downloadIdleMs: IDLE_MS } });
  owner = await h.createUser("faculty");
  const { rows } = await h.pool.query<{ id: string }>(
    "INSERT INTO batch_jobs (user_id, status, total_items, completed_items, config, finished_at) VALUES ($1, 'completed', 5000, 5000, $2, now()) RETURNING id",
    [owner.sub, JSON.stringify({ questionType: "single_best_answer", difficulty: "medium", topic: "Idle export", count: 5000, concurrency: 5, generator: "simulated" })],
  );
  bigId = rows[0]!.id;
  // About 10 MB of CSV: more than the socket buffers take for a reader that does not read.
  const question = {
    stem: "A long stem. ".repeat(150),
    options: ["A", "B", "C", "D", "E"].map((label) => ({ label, text: `Option ${label}` })),
    answer: "A",
    explanation: "Because.",
  };
  await h.pool.query(
    "INSERT INTO batch_items (batch_id, position, status, attempts, result, finished_at) SELECT $1, n, 'completed', 1, $2, now() FROM generate_series(0, 4999) AS n",
    [bigId, JSON.stringify(question)],
  );
}, 60_000);
afterAll(async () => {
  await h?.close();
});

function open(): Promise<IncomingMessage> {
  return new Promise((resolve, reject) => {
    const request = httpGet(
      `${h.apiUrl}/api/v1/generation/batch/${bigId}/questions?format=csv`,
      { headers: { Authorization: `Bearer ${owner.token}` }, agent: false },
      resolve,
    );
    request.on("error", reject);
  });
}

describe("a download whose client stops reading", () => {
  it("is cut after the idle window: the client sees the connection end without the file's end", async () => {
    const response = await open();
    expect(response.statusCode).toBe(200);
    response.pause();
    let outcome: "ended" | "cut" | undefined;
    response.on("end", () => (outcome ??= "ended"));
    response.on("aborted", () => (outcome ??= "cut"));
    response.on("error", () => (outcome ??= "cut"));
    response.on("close", () => (outcome ??= response.complete ? "ended" : "cut"));
    // Nothing is read until well past the window; then reading drains what the buffers held.
    await new Promise((resolve) => setTimeout(resolve, IDLE_MS * 5));
    response.resume();
    await waitFor("the download to end one way or the other", () => Promise.resolve(outcome), 30_000);
    expect(outcome).toBe("cut");
    expect(response.complete).toBe(false);
  }, 60_000);

  it("a client that reads the whole file, without stopping, gets all of it", async () => {
    const response = await open();
    let text = "";
    response.setEncoding("utf8");
    for await (const chunk of response as AsyncIterable<string>) text += chunk;
    expect(response.complete).toBe(true);
    expect(text.split("\r\n").filter((line) => line.length > 0)).toHaveLength(5001);
  }, 60_000);
});
