import { spawn, type ChildProcess } from "node:child_process";
import path from "node:path";
import type { Pool } from "@batchgen/db";
import { REPO_ROOT } from "@batchgen/db";
import type { ProcessGroups } from "../lib/cpu.ts";
import { startBenchStack, type BenchStack } from "../lib/stack.ts";
import type { FromWorker, ToWorker } from "./item-work.ts";

// The three systems behind one interface: us (the product as `pnpm dev` runs it, on the shared
// cluster) and each peer (a worker process of ours that uses the peer's library, over Node IPC).

export interface System {
  readonly name: string;
  /** Starts a batch and returns its id. */
  start(count: number): Promise<string>;
  pause(batchId: string): Promise<void>;
  resume(batchId: string): Promise<void>;
  /** Items stored so far. */
  done(batchId: string): Promise<number>;
  /** Start times (ms since the epoch) of items that started at or after `since`. */
  startsSince(batchId: string, since: number): Promise<number[]>;
  /** Finish times of every stored item, ascending. */
  finishTimes(batchId: string): Promise<number[]>;
  /** Items stored (or, for us, generated) more than once; items never stored. */
  integrity(batchId: string, count: number): Promise<{ twice: number; lost: number }>;
  watch(on: boolean): void;
  groups(): ProcessGroups;
  killWorkerAndRestart(): Promise<void>;
  close(): Promise<void>;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export async function startOurs(databaseUrl: string, latencyMs: number, concurrency: number): Promise<System & { stack: BenchStack }> {
  const b = await startBenchStack(
    {
      SIMULATED_LATENCY_MS: String(latencyMs),
      SIMULATED_LATENCY_JITTER: "0",
      SIMULATED_FAILURE_RATE: "0",
      RATE_LIMIT_CONTROL_BURST: "100000",
      RATE_LIMIT_CONTROL_PER_MINUTE: "1000000",
    },
    { databaseUrl },
  );
  return {
    name: "us",
    stack: b,
    async start(count) {
      const created = await b.api<{ id: string }>("POST", "/api/v1/generation/batch", {
        topic: "Cardiology",
        questionType: "single_best_answer",
        difficulty: "medium",
        count,
        concurrency,
      });
      if (created.status !== 201) throw new Error(`create failed: ${JSON.stringify(created.body)}`);
      return created.body.data.id;
    },
    async pause(batchId) {
      const response = await b.api("POST", `/api/v1/generation/batch/${batchId}/pause`);
      if (response.status !== 200) throw new Error(`pause answered ${response.status}`);
    },
    async resume(batchId) {
      const response = await b.api("POST", `/api/v1/generation/batch/${batchId}/resume`);
      if (response.status !== 200) throw new Error(`resume answered ${response.status}`);
    },
    async done(batchId) {
      const { rows } = await b.pool.query<{ n: number }>("SELECT completed_items AS n FROM batch_jobs WHERE id = $1", [batchId]);
      return rows[0]?.n ?? 0;
    },
    async startsSince(batchId, since) {
      const { rows } = await b.pool.query<{ t: string }>(
        "SELECT (extract(epoch FROM started_at) * 1000)::float8 AS t FROM batch_items WHERE batch_id = $1 AND started_at >= to_timestamp($2 / 1000.0)",
        [batchId, since],
      );
      return rows.map((row) => Number(row.t));
    },
    async finishTimes(batchId) {
      const { rows } = await b.pool.query<{ t: string }>(
        "SELECT (extract(epoch FROM finished_at) * 1000)::float8 AS t FROM batch_items WHERE batch_id = $1 AND finished_at IS NOT NULL ORDER BY finished_at",
        [batchId],
      );
      return rows.map((row) => Number(row.t));
    },
    async integrity(batchId) {
      const { rows } = await b.pool.query<{ twice: number; lost: number }>(
        "SELECT count(*) FILTER (WHERE attempts > 1)::int AS twice, count(*) FILTER (WHERE result IS NULL)::int AS lost FROM batch_items WHERE batch_id = $1",
        [batchId],
      );
      return rows[0]!;
    },
    watch() {
      // Our start times are in batch_items.started_at already.
    },
    groups() {
      const pids = b.pids();
      return { api: [pids.api], engine: [pids.engine] };
    },
    killWorkerAndRestart: () => b.killAndRestartApi(),
    close: () => b.close(),
  };
}

export interface PeerOptions {
  readonly kind: "dbos" | "bullmq";
  readonly appPool: Pool;
  readonly env: NodeJS.ProcessEnv;
  /** Extra process trees that belong to this peer (Redis for BullMQ). */
  readonly extraGroups?: ProcessGroups;
}

export async function startPeer(options: PeerOptions): Promise<System> {
  const script = path.join(REPO_ROOT, "bench", "peers", `${options.kind}-worker.ts`);
  const starts = new Map<string, number[]>();
  let current = "";
  let worker: ChildProcess;
  let waiters: { type: FromWorker["type"]; resolve: (message: FromWorker) => void; reject: (error: Error) => void }[] = [];

  const spawnWorker = async () => {
    const child = spawn(process.execPath, ["--import", "tsx", script], {
      cwd: REPO_ROOT,
      env: { ...process.env, ...options.env },
      stdio: ["ignore", "inherit", "inherit", "ipc"],
    });
    child.on("message", (message: FromWorker) => {
      if (message.type === "item-start") {
        starts.get(current)?.push(message.at);
        return;
      }
      if (message.type === "error") console.error(`${options.kind} worker: ${message.message}`);
      const index = waiters.findIndex((waiter) => waiter.type === message.type || message.type === "error");
      if (index >= 0) {
        const [waiter] = waiters.splice(index, 1);
        if (message.type === "error") waiter!.reject(new Error(message.message));
        else waiter!.resolve(message);
      }
    });
    child.on("exit", () => {
      for (const waiter of waiters) waiter.reject(new Error(`${options.kind} worker exited`));
      waiters = [];
    });
    worker = child;
    await expect("ready");
  };
  const expect = (type: FromWorker["type"]) => new Promise<FromWorker>((resolve, reject) => waiters.push({ type, resolve, reject }));
  const ask = async (message: ToWorker, reply: FromWorker["type"]) => {
    const answer = expect(reply);
    worker.send(message);
    return answer;
  };
  const stopWorker = async (signal: NodeJS.Signals) => {
    if (worker.exitCode !== null || worker.signalCode !== null) return;
    const exited = new Promise((resolve) => worker.once("exit", resolve));
    worker.kill(signal);
    const timer = setTimeout(() => worker.kill("SIGKILL"), 15_000);
    await exited;
    clearTimeout(timer);
  };

  await spawnWorker();
  const name = options.kind === "dbos" ? "DBOS" : "BullMQ";
  return {
    name,
    async start(count) {
      const batchId = `${options.kind}-${Date.now()}`;
      current = batchId;
      starts.set(batchId, []);
      await ask({ type: "start", batchId, count }, "started");
      return batchId;
    },
    async pause(batchId) {
      await ask({ type: "pause", batchId }, "paused");
    },
    async resume(batchId) {
      await ask({ type: "resume", batchId }, "resumed");
    },
    async done(batchId) {
      const { rows } = await options.appPool.query<{ n: number }>("SELECT count(*)::int AS n FROM peer_items WHERE system = $1 AND batch_id = $2", [
        options.kind,
        batchId,
      ]);
      return rows[0]!.n;
    },
    startsSince(batchId, since) {
      return Promise.resolve((starts.get(batchId) ?? []).filter((at) => at >= since));
    },
    async finishTimes(batchId) {
      const { rows } = await options.appPool.query<{ t: string }>(
        "SELECT (extract(epoch FROM finished_at) * 1000)::float8 AS t FROM peer_items WHERE system = $1 AND batch_id = $2 ORDER BY finished_at",
        [options.kind, batchId],
      );
      return rows.map((row) => Number(row.t));
    },
    async integrity(batchId, count) {
      const { rows } = await options.appPool.query<{ stored: number; twice: number }>(
        "SELECT count(*)::int AS stored, count(*) FILTER (WHERE stored_count > 1)::int AS twice FROM peer_items WHERE system = $1 AND batch_id = $2",
        [options.kind, batchId],
      );
      return { twice: rows[0]!.twice, lost: count - rows[0]!.stored };
    },
    watch(on) {
      worker.send({ type: "watch", on } satisfies ToWorker);
    },
    groups() {
      return { worker: [worker.pid!], ...options.extraGroups };
    },
    async killWorkerAndRestart() {
      await stopWorker("SIGKILL");
      await sleep(100);
      await spawnWorker();
    },
    close: () => stopWorker("SIGTERM"),
  };
}
