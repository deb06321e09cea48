import { Queue, Worker } from "bullmq";
import { createItemWork, requiredEnv, send, type ToWorker } from "./item-work.ts";

// BullMQ worker (bullmq 6.7.0 on ioredis 5.9.3), written the way its docs show:
// - one job per item, added in bulk (https://docs.bullmq.io/guide/queues/adding-bulks);
// - a Worker with `concurrency` as the number of items in flight
//   (https://docs.bullmq.io/guide/workers/concurrency), completed jobs auto-removed beyond the
//   last 1000 (https://docs.bullmq.io/guide/queues/auto-removal-of-jobs);
// - pause and resume are Queue.pause() / Queue.resume(): the whole queue, every batch on it
//   (https://docs.bullmq.io/guide/workers/pausing-queues);
// - a job whose worker died is "stalled" and moved back to wait by another worker's stalled-job
//   check (https://docs.bullmq.io/guide/workers/stalled-jobs), after the lock expires (30 s).

const latencyMs = Number(process.env.PEER_LATENCY_MS ?? "0");
const concurrency = Number(process.env.PEER_CONCURRENCY ?? "20");
const connection = { host: "127.0.0.1", port: Number(requiredEnv("PEER_REDIS_PORT")), maxRetriesPerRequest: null };
const work = createItemWork("bullmq", requiredEnv("PEER_APP_DATABASE_URL"), latencyMs);
const queue = new Queue("items", { connection });
let watching = false;

interface ItemJob {
  readonly batchId: string;
  readonly position: number;
}

const worker = new Worker<ItemJob>(
  "items",
  async (job) => {
    if (watching) send({ type: "item-start", position: job.data.position, at: Date.now() });
    const question = await work.generate(job.data.batchId, job.data.position);
    await work.store(job.data.batchId, job.data.position, question);
  },
  { connection, concurrency, removeOnComplete: { count: 1000 }, removeOnFail: { count: 5000 } },
);
worker.on("error", (error) => send({ type: "error", message: error.message }));

process.on("message", (message: ToWorker) => {
  void (async () => {
    try {
      if (message.type === "watch") watching = message.on;
      else if (message.type === "start") {
        for (let from = 1; from <= message.count; from += 1000) {
          const jobs = [];
          for (let position = from; position < from + 1000 && position <= message.count; position += 1) {
            jobs.push({ name: "item", data: { batchId: message.batchId, position }, opts: { jobId: `${message.batchId}-${position}` } });
          }
          await queue.addBulk(jobs);
        }
        send({ type: "started", batchId: message.batchId });
      } else if (message.type === "pause") {
        await queue.pause();
        send({ type: "paused", batchId: message.batchId });
      } else {
        await queue.resume();
        send({ type: "resumed", batchId: message.batchId });
      }
    } catch (error) {
      send({ type: "error", message: error instanceof Error ? error.message : String(error) });
    }
  })();
});
process.on("SIGTERM", () => {
  void Promise.all([worker.close(), queue.close(), work.pool.end()]).finally(() => process.exit(0));
});
await worker.waitUntilReady();
send({ type: "ready" });
