/**
 * Engine benchmark: no-op steps per second through the engine, HTTP requests and CPU per step,
 * and the median per-step overhead over a bare HTTP call to the serve handler, measured with the
 * SDK's checkpointing off and on, each with the engine's SQL fast path and without it (every answer
 * through the TypeScript path), side by side in one run against a throwaway PostgreSQL cluster.
 * Run with `pnpm tsx bench/engine/engine.bench.ts`; it rewrites only its own section of
 * docs/benchmarks.md.
 */
import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import http from "node:http";
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
const THROUGHPUT_ROUNDS = 3;
const LATENCY_RUNS = 30;

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
const median = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
};
/** utime + stime of a process in ms (Linux, 100 ticks per second). */
const cpuMs = async (pid: number): Promise<number> => {
  const fields = (await readFile(`/proc/${pid}/stat`, "utf8")).split(") ")[1]?.split(" ") ?? [];
  return (Number(fields[11] ?? 0) + Number(fields[12] ?? 0)) * 10;
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
  env: {
    ...process.env,
    PORT: String(appPort),
    INNGEST_DEV: "1",
    INNGEST_BASE_URL: `http://127.0.0.1:${enginePort}`,
  },
  stdio: "ignore",
});

interface ModeResult {
  readonly stepsPerSecond: number;
  readonly roundsText: string;
  readonly engineStep: number;
  readonly bare: number;
  readonly overhead: number;
  readonly engineCpuPerStep: number;
  readonly appCpuPerStep: number;
  readonly appCeiling: number;
  readonly requestsPerStep: number;
  readonly callsPerStep: number;
  readonly checkpointsPerStep: number;
}

const event = { id: "bench-event", name: "bench/noop", data: { steps: STEPS_PER_RUN }, ts: Date.now(), user: {} };
let completed = 0;

/** One full measurement (latency side by side with bare calls, then throughput) with the engine in one mode. */
async function measure(checkpointing: boolean, fastPath: boolean): Promise<ModeResult> {
  const engine = await startEngine({ databaseUrl: db.url, port: enginePort, appUrls: [appUrl], log: () => undefined, checkpointing, fastPath });
  try {
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
        // Coarse on purpose: this poll runs in the engine's process and must not eat its CPU.
        await sleep(25);
      }
    };

    // Warm up both paths (JIT, connection pools, SDK caches).
    await send(Array.from({ length: 20 }, () => ({ name: "bench/noop", data: { steps: STEPS_PER_RUN } })));
    completed += 20;
    await waitForCompleted(completed);

    // 1. Latency, side by side: each round runs one engine run, then replays the same requests
    //    straight to the serve handler, so both see the same machine load.
    //    - through the engine: the interval between consecutive steps, stamped inside the app;
    //    - bare: one HTTP call to the serve handler that runs one step (same body shape, same
    //      keep-alive node:http client as the engine), i.e. a step without an engine.
    const agent = new http.Agent({ keepAlive: true });
    const postBare = (body: string) =>
      new Promise<{ status: number; text: string }>((resolve, reject) => {
        const request = http.request(
          `${appUrl}?fnId=bench-noop&stepId=step`,
          { method: "POST", agent, headers: { "content-type": "application/json", "content-length": Buffer.byteLength(body) } },
          (response) => {
            const chunks: Buffer[] = [];
            response.on("data", (chunk: Buffer) => chunks.push(chunk));
            response.on("end", () => resolve({ status: response.statusCode ?? 0, text: Buffer.concat(chunks).toString() }));
          },
        );
        request.on("error", reject);
        request.end(body);
      });
    const engineIntervals: number[] = [];
    const bareCalls: number[] = [];
    for (let i = 0; i < LATENCY_RUNS; i += 1) {
      const [eventId] = await send([{ name: "bench/noop", data: { steps: STEPS_PER_RUN } }]);
      completed += 1;
      await waitForCompleted(completed);
      const { rows } = await pool.query<{ output: number[] }>(`SELECT output FROM engine.runs WHERE event_id = $1`, [eventId]);
      const stamps = rows[0]?.output ?? [];
      for (let s = 1; s < stamps.length; s += 1) engineIntervals.push(stamps[s]! - stamps[s - 1]!);

      const steps: { id: string; memo: unknown }[] = [];
      for (let s = 0; s < STEPS_PER_RUN; s += 1) {
        const body = buildCallBody(
          {
            url: appUrl,
            jobId: `bare-${i}-${s}`,
            stepId: "",
            runId: `bare-${i}`,
            attempt: 0,
            maxAttempts: 5,
            event,
            steps,
            version: 2,
            disableImmediateExecution: false,
          },
          false,
        );
        const started = performance.now();
        const response = await postBare(body);
        bareCalls.push(performance.now() - started);
        const op = (JSON.parse(response.text) as { id: string; data: unknown }[])[0];
        if (response.status !== 206 || !op) throw new Error(`unexpected bare answer ${response.status}`);
        steps.push({ id: op.id, memo: { data: op.data } });
      }
    }
    agent.destroy();

    // 2. Throughput: many runs in flight at once, three rounds, the median reported.
    const totalSteps = THROUGHPUT_ROUNDS * THROUGHPUT_RUNS * STEPS_PER_RUN;
    const stats0 = engine.stats();
    const appCpu0 = await cpuMs(app.pid!);
    const engineCpu0 = process.cpuUsage();
    const rounds: number[] = [];
    for (let round = 0; round < THROUGHPUT_ROUNDS; round += 1) {
      const started = performance.now();
      await send(Array.from({ length: THROUGHPUT_RUNS }, () => ({ name: "bench/noop", data: { steps: STEPS_PER_RUN } })));
      completed += THROUGHPUT_RUNS;
      await waitForCompleted(completed);
      rounds.push((THROUGHPUT_RUNS * STEPS_PER_RUN) / ((performance.now() - started) / 1000));
    }
    const engineCpuUsage = process.cpuUsage(engineCpu0);
    const stats1 = engine.stats();
    // CPU per step tells what each side costs regardless of what else the machine is doing.
    const appCpuPerStep = ((await cpuMs(app.pid!)) - appCpu0) / totalSteps;
    const engineCpuPerStep = (engineCpuUsage.user + engineCpuUsage.system) / 1000 / totalSteps;
    const callsPerStep = (stats1.calls - stats0.calls) / totalSteps;
    const checkpointsPerStep = (stats1.checkpoints - stats0.checkpoints) / totalSteps;
    const engineStep = median(engineIntervals);
    const bare = median(bareCalls);
    return {
      stepsPerSecond: median(rounds),
      roundsText: rounds.map((value) => value.toFixed(0)).join(", "),
      engineStep,
      bare,
      overhead: engineStep - bare,
      engineCpuPerStep,
      appCpuPerStep,
      // The app is one single-threaded process: one core at its CPU per step is its own ceiling.
      appCeiling: 1000 / appCpuPerStep,
      requestsPerStep: callsPerStep + checkpointsPerStep,
      callsPerStep,
      checkpointsPerStep,
    };
  } finally {
    await engine.close();
  }
}

try {
  // Both modes in one invocation, so both see the same machine: off (one step per request, the
  // engine before checkpointing existed and any app with `checkpointing: false`), then on.
  // Each mode with the SQL fast path for one-StepRun answers (engine.apply_step_run) and without
  // it (every answer through the TypeScript path), interleaved so both see the same machine.
  const offFast = await measure(false, true);
  const off = await measure(false, false);
  const onFast = await measure(true, true);
  const on = await measure(true, false);
  const modes: [string, ModeResult][] = [
    ["checkpointing off, SQL fast path", offFast],
    ["checkpointing off, TypeScript path only", off],
    ["checkpointing on, SQL fast path", onFast],
    ["checkpointing on, TypeScript path only", on],
  ];

  const date = new Date().toISOString().slice(0, 10);
  const machine = `${os.cpus().length} cores (${os.cpus()[0]?.model.trim() ?? "unknown CPU"}), Node ${process.version}, ${os.platform()} ${os.arch()}`;
  const describe = (name: string, r: ModeResult) =>
    `${name}: ${r.stepsPerSecond.toFixed(0)} steps/s (${r.roundsText}); ${r.engineStep.toFixed(2)} ms per step (bare ${r.bare.toFixed(2)} ms, overhead ${r.overhead.toFixed(2)} ms); ` +
    `${r.requestsPerStep.toFixed(2)} requests per step (${r.callsPerStep.toFixed(2)} calls + ${r.checkpointsPerStep.toFixed(2)} checkpoints); CPU per step engine ${r.engineCpuPerStep.toFixed(2)} ms, app ${r.appCpuPerStep.toFixed(2)} ms`;
  console.log([...modes.map(([name, r]) => describe(name, r)), `load average before the run ${loadBefore}`].join("\n"));

  const row = (measureText: string, value: (r: ModeResult) => string, target = "") =>
    `| ${measureText} | ${modes.map(([, r]) => value(r)).join(" | ")} | ${target} |`;
  const section = [
    "<!-- bench:engine:start -->",
    "## Engine (`bench/engine`)",
    "",
    `Measured ${date} on ${machine}, with \`pnpm tsx bench/engine/engine.bench.ts\`: a throwaway`,
    "PostgreSQL cluster, the engine in the bench process and the app (real SDK v4 functions served",
    "with `inngest/express`) in its own process, all on 127.0.0.1. All columns come from the same",
    "invocation, one after the other: the SDK's checkpointing off (one step per request: any app with",
    "`checkpointing: false`), then on (the engine's default, as on Inngest: steps run inline in one",
    "request, each posted to `/v1/checkpoint/:runId/async`); each with the engine's SQL fast path for",
    "an answer holding one `StepRun` (`engine.apply_step_run`, the default) and with every answer",
    "through the TypeScript path (`fastPath: false`; see docs/decisions/engine-fast-path.md).",
    "",
    `| measure | ${modes.map(([name]) => name).join(" | ")} | target |`,
    `| --- | ${modes.map(() => "---").join(" | ")} | --- |`,
    row(
      `no-op steps per second through the engine (${THROUGHPUT_RUNS} runs × ${STEPS_PER_RUN} steps in flight at once; median of ${THROUGHPUT_ROUNDS} rounds)`,
      (r) => `${r.stepsPerSecond.toFixed(0)} (${r.roundsText})`,
      "≥ 200",
    ),
    row(
      "HTTP requests per step between engine and app (calls to the app + checkpoint posts, counted by the engine)",
      (r) => `${r.requestsPerStep.toFixed(2)} (${r.callsPerStep.toFixed(2)} + ${r.checkpointsPerStep.toFixed(2)})`,
    ),
    row("CPU per step in the app process (SDK)", (r) => `${r.appCpuPerStep.toFixed(2)} ms`),
    row("CPU per step in the engine process", (r) => `${r.engineCpuPerStep.toFixed(2)} ms`),
    row("ceiling set by the app alone (one single-threaded process: 1,000 ms / its CPU per step)", (r) => `~${r.appCeiling.toFixed(0)} steps/s`),
    row(
      `median time per step through the engine (${LATENCY_RUNS} runs one at a time; interval between steps, stamped in the app)`,
      (r) => `${r.engineStep.toFixed(2)} ms`,
    ),
    row(
      "median bare HTTP call to the serve handler that runs one step (same requests, no engine; interleaved with the runs above)",
      (r) => `${r.bare.toFixed(2)} ms`,
    ),
    row("median per-step overhead of the engine (difference of the two medians)", (r) => `${r.overhead.toFixed(2)} ms`, "< 5 ms"),
    "",
    `Load average (1/5/15 min) when the run started: ${loadBefore}. The machine is shared and has 2`,
    "cores, so the throughput moves with whatever else runs; the CPU per step moves much less. Without",
    "checkpointing the single-threaded app is the ceiling (the SDK replays the run's memoized steps on",
    "every request). With it, a run's steps share one request and the app makes one checkpoint post",
    "per step instead: as many requests, much less work in the app. A step is then no longer a request",
    "to the app, so its time through the engine can be below a bare call and the overhead negative.",
    "The fast path matters without checkpointing (one round trip to PostgreSQL per step instead of",
    "seven); with checkpointing the steps arrive as checkpoints and it hardly runs.",
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
