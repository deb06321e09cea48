/**
 * Engine benchmark: no-op steps per second through the engine, and the median per-step overhead
 * over a bare HTTP call to the serve handler, measured side by side in one run against a throwaway
 * PostgreSQL cluster. Run with `pnpm tsx bench/engine/engine.bench.ts`; it rewrites only its own
 * section of docs/benchmarks.md.
 */
import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { readFile, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import {
  BENCH_APP_MAIN,
  ENGINE_DIR,
  buildCallBody,
  createPool,
  createTestDatabase,
  findFreePort,
  startEngine,
  startTestCluster,
} from "../../apps/engine/test/support/bench-kit.ts";

const STEPS_PER_RUN = 10;
const THROUGHPUT_RUNS = 100;
const LATENCY_RUNS = 30;

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
const median = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
};
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

const loadBefore = os
  .loadavg()
  .map((value) => value.toFixed(1))
  .join(" / ");
const cluster = await startTestCluster();
const db = await createTestDatabase(cluster.adminUrl);
const pool = createPool(db.url, { max: 2 });
const appPort = await findFreePort();
const enginePort = await findFreePort();
const appUrl = `http://127.0.0.1:${appPort}/api/inngest`;
const app = spawn(process.execPath, ["--import", "tsx", BENCH_APP_MAIN], {
  cwd: ENGINE_DIR,
  env: { ...process.env, PORT: String(appPort), INNGEST_DEV: "1", INNGEST_BASE_URL: `http://127.0.0.1:${enginePort}` },
  stdio: "ignore",
});

try {
  const engine = await startEngine({ databaseUrl: db.url, port: enginePort, appUrls: [appUrl], log: () => undefined });
  const [synced] = await engine.synced;
  if (!synced?.ok) throw new Error(`sync failed: ${synced?.message}`);

  const send = async (events: unknown[]) => {
    const response = await fetch(`${engine.url}/e/bench`, { method: "POST", body: JSON.stringify(events) });
    return ((await response.json()) as { ids: string[] }).ids;
  };
  const waitForCompleted = async (count: number) => {
    for (;;) {
      const { rows } = await pool.query<{ n: number }>(`SELECT count(*)::int AS n FROM engine.runs WHERE status = 'completed'`);
      if ((rows[0]?.n ?? 0) >= count) return;
      await sleep(5);
    }
  };
  let completed = 0;

  // Warm up both paths (JIT, connection pools, SDK caches).
  await send(Array.from({ length: 20 }, () => ({ name: "bench/noop", data: { steps: STEPS_PER_RUN } })));
  completed += 20;
  await waitForCompleted(completed);

  // 1. Per-step time through the engine: one run at a time, interval between consecutive steps
  //    as stamped inside the app (so client-side polling does not count).
  const engineIntervals: number[] = [];
  for (let i = 0; i < LATENCY_RUNS; i += 1) {
    const [eventId] = await send([{ name: "bench/noop", data: { steps: STEPS_PER_RUN } }]);
    completed += 1;
    await waitForCompleted(completed);
    const { rows } = await pool.query<{ output: number[] }>(`SELECT output FROM engine.runs WHERE event_id = $1`, [eventId]);
    const stamps = rows[0]?.output ?? [];
    for (let s = 1; s < stamps.length; s += 1) engineIntervals.push(stamps[s]! - stamps[s - 1]!);
  }

  // 2. The same requests sent straight to the serve handler: the cost of one step without an engine.
  const event = { id: "bench-event", name: "bench/noop", data: { steps: STEPS_PER_RUN }, ts: Date.now(), user: {} };
  const bareCalls: number[] = [];
  for (let i = 0; i < LATENCY_RUNS; i += 1) {
    const steps: { id: string; memo: unknown }[] = [];
    for (let s = 0; s < STEPS_PER_RUN; s += 1) {
      const body = buildCallBody({
        url: appUrl,
        stepId: "",
        runId: `bare-${i}`,
        attempt: 0,
        maxAttempts: 5,
        event,
        steps,
        version: 2,
        disableImmediateExecution: false,
      });
      const started = performance.now();
      const response = await fetch(`${appUrl}?fnId=bench-noop&stepId=step`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body,
      });
      const ops = (await response.json()) as { id: string; data: unknown }[];
      bareCalls.push(performance.now() - started);
      const op = ops[0];
      if (response.status !== 206 || !op) throw new Error(`unexpected bare answer ${response.status}`);
      steps.push({ id: op.id, memo: { data: op.data } });
    }
  }

  // 3. Throughput: many runs in flight at once.
  /** utime + stime of a process in ms (Linux, 100 ticks per second). */
  const cpuOf = async (pid: number) => {
    const fields = (await readFile(`/proc/${pid}/stat`, "utf8")).split(") ")[1]!.split(" ");
    return (Number(fields[11]) + Number(fields[12])) * 10;
  };
  const appCpu0 = await cpuOf(app.pid!);
  const engineCpu0 = process.cpuUsage();
  const started = performance.now();
  await send(Array.from({ length: THROUGHPUT_RUNS }, () => ({ name: "bench/noop", data: { steps: STEPS_PER_RUN } })));
  completed += THROUGHPUT_RUNS;
  await waitForCompleted(completed);
  const seconds = (performance.now() - started) / 1000;
  const engineCpuUsage = process.cpuUsage(engineCpu0);
  // CPU per step tells what each side costs regardless of what else the machine is doing.
  const appCpuPerStep = ((await cpuOf(app.pid!)) - appCpu0) / (THROUGHPUT_RUNS * STEPS_PER_RUN);
  const engineCpuPerStep = (engineCpuUsage.user + engineCpuUsage.system) / 1000 / (THROUGHPUT_RUNS * STEPS_PER_RUN);
  const stepsPerSecond = (THROUGHPUT_RUNS * STEPS_PER_RUN) / seconds;

  const engineStep = median(engineIntervals);
  const bare = median(bareCalls);
  const overhead = engineStep - bare;
  await engine.close();

  const date = new Date().toISOString().slice(0, 10);
  const machine = `${os.cpus().length} cores (${os.cpus()[0]?.model.trim() ?? "unknown CPU"}), Node ${process.version}, ${os.platform()} ${os.arch()}`;
  const lines = [
    `no-op steps/s through the engine: ${stepsPerSecond.toFixed(0)} (target >= 200)`,
    `median per-step time through the engine: ${engineStep.toFixed(2)} ms`,
    `median bare HTTP call to the serve handler: ${bare.toFixed(2)} ms`,
    `median per-step overhead: ${overhead.toFixed(2)} ms (target < 5 ms)`,
    `CPU per step: engine ${engineCpuPerStep.toFixed(2)} ms, app (SDK) ${appCpuPerStep.toFixed(2)} ms; load average before the run ${loadBefore}`,
  ];
  console.log(lines.join("\n"));

  const section = [
    "<!-- bench:engine:start -->",
    "## Engine (`bench/engine`)",
    "",
    `Measured ${date} on ${machine}, with \`pnpm tsx bench/engine/engine.bench.ts\`: a throwaway`,
    "PostgreSQL cluster, the engine in the bench process and the app (real SDK v4 functions served",
    "with `inngest/express`) in its own process, all on 127.0.0.1.",
    "",
    "| measure | result | target |",
    "| --- | --- | --- |",
    `| no-op steps per second through the engine (${THROUGHPUT_RUNS} runs × ${STEPS_PER_RUN} steps in flight at once) | ${stepsPerSecond.toFixed(0)} | ≥ 200 |`,
    `| median time per step through the engine (${LATENCY_RUNS} sequential runs, stamped in the app) | ${engineStep.toFixed(2)} ms | |`,
    `| median bare HTTP call to the serve handler (the same ${LATENCY_RUNS * STEPS_PER_RUN} requests, no engine) | ${bare.toFixed(2)} ms | |`,
    `| median per-step overhead of the engine | ${overhead.toFixed(2)} ms | < 5 ms |`,
    `| CPU per step in the engine process / in the app process (SDK) | ${engineCpuPerStep.toFixed(2)} ms / ${appCpuPerStep.toFixed(2)} ms | |`,
    "",
    `Load average (1/5/15 min) when the run started: ${loadBefore}. The machine is shared and has 2`,
    "cores, so the throughput figure moves with whatever else runs; the CPU per step does not.",
    "<!-- bench:engine:end -->",
  ].join("\n");
  const file = path.join(repoRoot, "docs/benchmarks.md");
  const current = existsSync(file) ? await readFile(file, "utf8") : "";
  const pattern = /<!-- bench:engine:start -->[\s\S]*?<!-- bench:engine:end -->/;
  const next = pattern.test(current)
    ? current.replace(pattern, section)
    : `${current}${current && !current.endsWith("\n") ? "\n" : ""}${current ? "\n" : ""}${section}\n`;
  await writeFile(file, next);
  console.log(`wrote ${path.relative(repoRoot, file)}`);
} finally {
  app.kill("SIGKILL");
  await pool.end();
  await db.drop();
  await cluster.stop();
}
