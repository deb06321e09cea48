import { connect, type Socket } from "node:net";
import type { Server } from "node:http";
import type { AddressInfo } from "node:net";
import type { BatchDetail, BatchEta } from "@batchgen/types";
import { pino } from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createApp } from "../../src/app.ts";
import { createTokenVerifier } from "../../src/auth/token-verifier.ts";
import { BatchController } from "../../src/controllers/generation/batch.controller.ts";
import { BatchFeedService } from "../../src/services/generation/batch-feed.service.ts";
import { BatchService } from "../../src/services/generation/batch.service.ts";
import { TEST_SUPABASE_URL } from "../support/keys.ts";
import { batchRow, collectStream, startPipelineHarness, waitFor, type PipelineHarness, type SseEvent, type TestUser } from "../support/pipeline.ts";

let h: PipelineHarness;
let owner: TestUser;

beforeAll(async () => {
  h = await startPipelineHarness({ simulated: { latencyMedianMs: 1, latencyJitter: 0 } });
  owner = await h.createUser("faculty");
});
afterAll(async () => {
  await h?.close();
});

async function createBatch(count: number, concurrency: number): Promise<string> {
  const created = await h.api<BatchDetail>(owner, "POST", "/api/v1/generation/batch", {
    topic: "Microbiology",
    questionType: "single_best_answer",
    difficulty: "medium",
    count,
    concurrency,
  });
  expect(created.status).toBe(201);
  return created.body.data.id;
}

describe("the live stream keeps its ETA across reconnects", () => {
  it("the first progress event after each (re)connect carries an ETA when the snapshot had one", async () => {
    const batchId = await createBatch(5_000, 2);
    await waitFor("a few finished items", async () => ((await batchRow(h.pool, batchId)).completed_items >= 10 ? true : undefined));
    for (let connection = 1; connection <= 3; connection += 1) {
      const events = await collectStream(`${h.apiUrl}/api/v1/generation/batch/${batchId}/stream`, owner.token, (event) => event.event === "progress");
      const snapshot = events[0]!;
      const progress = events.at(-1)!;
      expect(snapshot.event).toBe("snapshot");
      expect(progress.event).toBe("progress");
      const snapshotEta = (snapshot.data.batch as { eta: BatchEta | null }).eta;
      const progressEta = (progress.data.batch as { eta: BatchEta | null; status: string }).eta;
      expect(snapshotEta, `connection ${connection}: snapshot`).not.toBeNull();
      expect(progressEta, `connection ${connection}: first progress`).not.toBeNull();
      expect(progressEta!.maxSeconds).toBeGreaterThan(0);
    }
    expect((await h.api(owner, "POST", `/api/v1/generation/batch/${batchId}/cancel`)).status).toBe(200);
  });
});

describe("slow readers cannot grow the API's memory", () => {
  const MAX_QUEUED = 64 * 1024;
  let server: Server;
  let url: string;
  const dropped: number[] = [];

  beforeAll(async () => {
    // The same app, with a stream controller whose queue bound is small and which reports drops.
    const logger = pino({ level: "silent" });
    const batches = new BatchService(h.pool, h.pipeline.outbox);
    const feed = new BatchFeedService(batches, h.pipeline.hub, logger);
    const controller = new BatchController(batches, feed, logger, { heartbeatMs: 1_000, maxQueuedBytes: MAX_QUEUED }, (bytes) => dropped.push(bytes));
    const app = createApp({
      pool: h.pool,
      logger,
      logRequests: false,
      pipeline: { ...h.pipeline, batchController: controller },
      verifyToken: createTokenVerifier({ supabaseUrl: TEST_SUPABASE_URL, keyResolver: h.signer.keyResolver }),
    });
    server = await new Promise((resolve) => {
      const listening = app.listen(0, "127.0.0.1", () => resolve(listening));
    });
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    server?.closeAllConnections();
    await new Promise((resolve) => server?.close(resolve));
  });

  /** A raw client that reads the response head and the first events, then stops reading altogether. */
  async function stalledReader(batchId: string): Promise<Socket> {
    const { port } = new URL(url);
    const socket = connect(Number(port), "127.0.0.1");
    await new Promise((resolve) => socket.once("connect", resolve));
    socket.write(`GET /api/v1/generation/batch/${batchId}/stream HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer ${owner.token}\r\n\r\n`);
    let head = "";
    await new Promise<void>((resolve) => {
      const onData = (chunk: Buffer) => {
        head += chunk.toString();
        if (head.includes("event: snapshot")) {
          socket.off("data", onData);
          socket.pause();
          resolve();
        }
      };
      socket.on("data", onData);
    });
    expect(head).toMatch(/^HTTP\/1\.1 200/);
    return socket;
  }

  it("a reader that stops reading while a large batch runs is dropped once its queue passes the bound; a reading client is not; reconnecting gives a fresh snapshot", async () => {
    // Concurrency 2: items finish one or two at a time, so nearly every item is its own progress
    // event (a tick stores what finished together in one commit, one event): a stream of
    // several megabytes, more than the loopback socket buffers hold.
    const batchId = await createBatch(10_000, 2);
    const socket = await stalledReader(batchId);
    // A client reading at full speed on the same batch, at the same time.
    const healthy = collectStream(`${url}/api/v1/generation/batch/${batchId}/stream`, owner.token, () => false, 600_000);

    // Until the stream is dropped, or the batch is over (today's code never drops a reader).
    await waitFor("the stalled stream to be dropped or the batch to end", async () => {
      if (dropped.length > 0) return true;
      return (await batchRow(h.pool, batchId)).status === "running" ? undefined : true;
    }, 240_000, 100);
    // The queue never held more than the bound plus the one event that crossed it.
    expect(dropped).toHaveLength(1);
    expect(dropped[0]!).toBeGreaterThan(MAX_QUEUED);
    expect(dropped[0]!).toBeLessThan(MAX_QUEUED + 4 * 1024);
    // Dropped while the batch still runs (the reading client keeps its stream: see its events below).
    expect((await batchRow(h.pool, batchId)).status).toBe("running");

    // Stop the work; the healthy stream ends with the batch.
    expect((await h.api(owner, "POST", `/api/v1/generation/batch/${batchId}/cancel`)).status).toBe(200);
    const events: SseEvent[] = await healthy;
    expect(events.at(-1)?.event).toBe("end");
    expect(events.filter((event) => event.event === "item").length).toBeGreaterThan(100);

    // The stalled client, reading again, finds its connection cut (no end event: it was dropped).
    const closed = new Promise((resolve) => socket.once("close", resolve));
    socket.resume();
    await closed;

    // Reconnecting gives a fresh snapshot of the (now cancelled) batch.
    const again = await collectStream(`${url}/api/v1/generation/batch/${batchId}/stream`, owner.token, (event) => event.event === "end", 60_000);
    expect(again[0]?.event).toBe("snapshot");
    expect((again[0]!.data.batch as BatchDetail).status).toBe("cancelled");
  }, 300_000);
});
