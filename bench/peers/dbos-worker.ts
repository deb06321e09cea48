import { DBOS } from "@dbos-inc/dbos-sdk";
import type { GeneratedQuestion } from "@batchgen/types";
import { createItemWork, requiredEnv, send, type ToWorker } from "./item-work.ts";

// DBOS Transact worker (@dbos-inc/dbos-sdk 5.3.0), written the way its docs show:
// - a batch is a workflow that enqueues one child workflow per item on a queue and waits for
//   their results ("Queues & Concurrency", https://docs.dbos.dev/typescript/tutorials/queue-tutorial);
// - the queue is registered after launch with DBOS.registerQueue (5.x; `new WorkflowQueue` was
//   removed in 5.0, https://docs.dbos.dev/typescript/reference/queues), its global concurrency
//   being the batch's concurrency;
// - an item workflow runs the generation as a step (an external call, checkpointed) and the store
//   as a second step (https://docs.dbos.dev/typescript/tutorials/step-tutorial; the datasource
//   packages for transactions are not on the npm registry for 5.x, so the write is a plain step);
// - pause is DBOS.cancelWorkflow(batch, { cancelChildren: true }) and resume is
//   DBOS.resumeWorkflow on the batch and its cancelled children, back onto their queue
//   (https://docs.dbos.dev/typescript/tutorials/workflow-management).

const latencyMs = Number(process.env.PEER_LATENCY_MS ?? "0");
const concurrency = Number(process.env.PEER_CONCURRENCY ?? "20");
// The queue's dispatcher polls its table; the default interval is 1 s, which caps a queue at
// `concurrency` starts per second (5 items/s at concurrency 5, a fifth of the ideal here). The
// queue parameter minPollingIntervalMs lowers it; bench/peers sets 50 ms and says so.
const pollMs = Number(process.env.PEER_DBOS_POLL_MS ?? "1000");
const queueName = `items-c${concurrency}`;
const work = createItemWork("dbos", requiredEnv("PEER_APP_DATABASE_URL"), latencyMs);
let watching = false;

async function itemFn(batchId: string, position: number): Promise<void> {
  const question = await DBOS.runStep(
    async (): Promise<GeneratedQuestion> => {
      if (watching) send({ type: "item-start", position, at: Date.now() });
      return work.generate(batchId, position);
    },
    { name: "generate" },
  );
  await DBOS.runStep(() => work.store(batchId, position, question), { name: "store" });
}
const itemWorkflow = DBOS.registerWorkflow(itemFn, { name: "itemWorkflow" });

async function batchFn(batchId: string, count: number): Promise<number> {
  const handles = [];
  for (let position = 1; position <= count; position += 1) {
    handles.push(await DBOS.startWorkflow(itemWorkflow, { queueName, workflowID: `${batchId}:${position}` })(batchId, position));
  }
  for (const handle of handles) await handle.getResult();
  return count;
}
const batchWorkflow = DBOS.registerWorkflow(batchFn, { name: "batchWorkflow" });

async function main(): Promise<void> {
  DBOS.setConfig({
    name: "peers-bench",
    applicationVersion: "0.1.0",
    systemDatabaseUrl: requiredEnv("DBOS_SYSTEM_DATABASE_URL"),
    logLevel: "warn",
  });
  await DBOS.launch();
  await DBOS.registerQueue(queueName, { globalConcurrency: concurrency, minPollingIntervalMs: pollMs, onConflict: "always_update" });

  process.on("message", (message: ToWorker) => {
    void (async () => {
      try {
        if (message.type === "watch") watching = message.on;
        else if (message.type === "start") {
          await DBOS.startWorkflow(batchWorkflow, { workflowID: message.batchId })(message.batchId, message.count);
          send({ type: "started", batchId: message.batchId });
        } else if (message.type === "pause") {
          await DBOS.cancelWorkflow(message.batchId, { cancelChildren: true });
          send({ type: "paused", batchId: message.batchId });
        } else {
          // The batch itself first (it replays its recorded steps), then every cancelled item,
          // back onto the queue so the concurrency limit still holds.
          const cancelled = await DBOS.listWorkflows({ parentWorkflowID: message.batchId, status: "CANCELLED" });
          await DBOS.resumeWorkflow(message.batchId);
          if (cancelled.length > 0) await DBOS.resumeWorkflows(cancelled.map((row) => row.workflowID), { queueName });
          send({ type: "resumed", batchId: message.batchId, detail: `${cancelled.length} items re-enqueued` });
        }
      } catch (error) {
        send({ type: "error", message: error instanceof Error ? error.message : String(error) });
      }
    })();
  });
  process.on("SIGTERM", () => {
    void DBOS.shutdown().finally(() => process.exit(0));
  });
  send({ type: "ready" });
}

await main();
