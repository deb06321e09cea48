import { readFile, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { createPool, REPO_ROOT } from "@batchgen/db";
import { barChartSvg } from "../lib/chart.ts";
import { startCpuMeter, type CpuMeasurement } from "../lib/cpu.ts";
import { startBenchPostgres, type BenchPostgres } from "../lib/postgres.ts";
import { startRedis, type BenchRedis } from "../lib/redis.ts";
import { machine, median, ms, percentile, today, writeSection } from "../lib/report.ts";
import { waitUntil } from "../lib/stack.ts";
import { PEER_ITEMS_DDL } from "./item-work.ts";
import { startOurs, startPeer, type System } from "./systems.ts";

// bench/peers: the same work through us and through the peers a user would pick instead (DBOS
// Transact, BullMQ), side by side in one run, on one PostgreSQL cluster (and one Redis for BullMQ,
// started and stopped here). Run by `pnpm bench`, or alone with `pnpm bench peers`.

// PEERS_QUICK=1: a smoke run with small numbers (never written as results: see runPeersBench).
const QUICK = process.env.PEERS_QUICK === "1";
const BIG = QUICK ? 1_000 : 10_000;
const BIG_CONCURRENCY = 20;
const FLOW = QUICK ? 100 : 500;
const FLOW_LATENCY_MS = 200;
const FLOW_CONCURRENCY = 5;
const CONTROL_BATCH = QUICK ? 500 : 3_000;
const TRIES = QUICK ? 3 : 20;
const KILL_AT = QUICK ? 400 : 4_000;
const DBOS_POLL_MS = 50;
const IDLE_SECONDS = QUICK ? 3 : 15;
const IDEAL = FLOW_CONCURRENCY * (1000 / FLOW_LATENCY_MS);
export const PEERS_CHART = path.join(REPO_ROOT, "docs", "benchmarks-peers.svg");

const sleep = (time: number) => new Promise((resolve) => setTimeout(resolve, time));

interface BigRun {
  readonly seconds: number;
  readonly cpu: CpuMeasurement;
  readonly twice: number;
  readonly lost: number;
}
interface KillRun {
  readonly twice: number;
  readonly lost: number;
  readonly secondsAfterKill: number;
  readonly finished: boolean;
}
interface ControlRun {
  readonly pauseToLast: number[];
  startedAfterReturn: number;
  readonly resumeToNext: number[];
  readonly pauseCallMs: number[];
}
export interface PeerResult {
  readonly name: string;
  big?: BigRun;
  kill?: KillRun;
  flow?: { steady: number; overall: number; cpu?: CpuMeasurement; idleCpuPerSecond?: number };
  control?: ControlRun;
}

async function packageVersion(name: string): Promise<string> {
  const file = path.join(REPO_ROOT, "bench", "peers", "node_modules", ...name.split("/"), "package.json");
  return ((JSON.parse(await readFile(file, "utf8")) as { version: string }).version);
}

async function bigBatch(system: System, postmaster: number): Promise<BigRun> {
  const meter = await startCpuMeter({ ...system.groups(), postgres: [postmaster] });
  const started = performance.now();
  const batchId = await system.start(BIG);
  await waitUntil(async () => ((await system.done(batchId)) >= BIG ? true : undefined), 20 * 60_000, 200);
  const seconds = (performance.now() - started) / 1000;
  const cpu = await meter.stop();
  return { seconds, cpu, ...(await system.integrity(batchId, BIG)) };
}

async function killMidBatch(system: System): Promise<KillRun> {
  const batchId = await system.start(BIG);
  await waitUntil(async () => ((await system.done(batchId)) >= KILL_AT ? true : undefined), 20 * 60_000, 20);
  const killedAt = performance.now();
  await system.killWorkerAndRestart();
  let finished = true;
  try {
    await waitUntil(async () => ((await system.done(batchId)) >= BIG ? true : undefined), 5 * 60_000, 250);
  } catch {
    finished = false;
  }
  const secondsAfterKill = (performance.now() - killedAt) / 1000;
  // Whatever was in flight at the kill has had time to come back (or not) by now.
  await sleep(1_000);
  return { ...(await system.integrity(batchId, BIG)), secondsAfterKill, finished };
}

async function steadyFlow(
  system: System,
  postmaster: number,
): Promise<{ steady: number; overall: number; cpu: CpuMeasurement; idleCpuPerSecond: number }> {
  // At rest first (nothing to do): what the system costs just by running, per second.
  const idle = await startCpuMeter({ ...system.groups(), postgres: [postmaster] });
  await sleep(IDLE_SECONDS * 1000);
  const idleCpuPerSecond = (await idle.stop()).totalMs / IDLE_SECONDS;
  const meter = await startCpuMeter({ ...system.groups(), postgres: [postmaster] });
  const batchId = await system.start(FLOW);
  await waitUntil(async () => ((await system.done(batchId)) >= FLOW ? true : undefined), 10 * 60_000, 250);
  const cpu = await meter.stop();
  const times = await system.finishTimes(batchId);
  // Steady state: drop the first and last 10% (ramp-up and the tail), as bench/pipeline does.
  const from = Math.floor(times.length * 0.1);
  const to = Math.floor(times.length * 0.9);
  return {
    steady: ((to - from) / (times[to]! - times[from]!)) * 1000,
    overall: (times.length / (times[times.length - 1]! - times[0]!)) * 1000,
    cpu,
    idleCpuPerSecond,
  };
}

async function pauseAndResume(system: System): Promise<ControlRun> {
  const batchId = await system.start(CONTROL_BATCH);
  await waitUntil(async () => ((await system.done(batchId)) >= 10 ? true : undefined), 120_000, 50);
  system.watch(true);
  const run: ControlRun = { pauseToLast: [], startedAfterReturn: 0, resumeToNext: [], pauseCallMs: [] };
  try {
    for (let attempt = 0; attempt < TRIES; attempt += 1) {
      await sleep(150 + Math.random() * 200);
      const pauseSent = Date.now();
      await system.pause(batchId);
      const pauseReturned = Date.now();
      run.pauseCallMs.push(pauseReturned - pauseSent);
      // Items in flight take 200 ms; anything that starts later than this would be a leak.
      await sleep(1_500);
      const after = await system.startsSince(batchId, pauseSent);
      run.pauseToLast.push(after.length === 0 ? 0 : Math.max(...after) - pauseSent);
      run.startedAfterReturn += after.filter((at) => at > pauseReturned).length;
      const resumeSent = Date.now();
      await system.resume(batchId);
      const next = await waitUntil(async () => {
        const starts = await system.startsSince(batchId, resumeSent);
        return starts.length > 0 ? Math.min(...starts) : undefined;
      }, 60_000, 10);
      run.resumeToNext.push(next - resumeSent);
    }
  } finally {
    system.watch(false);
  }
  return run;
}

/** Where each run leaves its raw results; PEERS_REPORT_FROM=<file> re-renders the section and chart from one. */
const LAST_RUN = path.join(tmpdir(), "batchgen-bench-peers-last-run.json");

export async function runPeersBench(): Promise<PeerResult[]> {
  if (process.env.PEERS_REPORT_FROM) {
    const saved = JSON.parse(await readFile(process.env.PEERS_REPORT_FROM, "utf8")) as PeerResult[];
    await report(saved);
    return saved;
  }
  const only = (process.env.PEERS_SYSTEMS ?? "us,dbos,bullmq").split(",");
  const results = new Map<string, PeerResult>();
  const result = (name: string) => {
    if (!results.has(name)) results.set(name, { name });
    return results.get(name)!;
  };
  let postgres: BenchPostgres | undefined;
  let redis: BenchRedis | undefined;
  try {
    postgres = await startBenchPostgres();
    redis = await startRedis();
    const ourUrl = await postgres.database("batchgen");
    const peersUrl = await postgres.database("peers");
    const dbosUrl = await postgres.database("dbos_system");
    const appPool = createPool(peersUrl, { max: 2, applicationName: "bench-peers-driver" });
    await appPool.query(PEER_ITEMS_DDL);
    const postmaster = await postgres.postmasterPid();
    const peerEnv = (latency: number, concurrency: number) => ({
      PEER_LATENCY_MS: String(latency),
      PEER_CONCURRENCY: String(concurrency),
      PEER_APP_DATABASE_URL: peersUrl,
      DBOS_SYSTEM_DATABASE_URL: dbosUrl,
      PEER_REDIS_PORT: String(redis!.port),
      PEER_DBOS_POLL_MS: String(DBOS_POLL_MS),
    });
    const open = async (name: string, latency: number, concurrency: number): Promise<System> =>
      name === "us"
        ? startOurs(ourUrl, latency, concurrency)
        : startPeer({
            kind: name as "dbos" | "bullmq",
            appPool,
            env: peerEnv(latency, concurrency),
            ...(name === "bullmq" ? { extraGroups: { redis: [redis!.pid] } } : {}),
          });

    try {
      for (const name of only) {
        const system = await open(name, 0, BIG_CONCURRENCY);
        try {
          console.log(`peers: ${system.name}, ${BIG} items at zero latency`);
          result(system.name).big = await bigBatch(system, postmaster);
          console.log(system.name, result(system.name).big);
          console.log(`peers: ${system.name}, SIGKILL of the worker mid-batch`);
          result(system.name).kill = await killMidBatch(system);
          console.log(system.name, result(system.name).kill);
        } finally {
          await system.close();
        }
      }
      for (const name of only) {
        const system = await open(name, FLOW_LATENCY_MS, FLOW_CONCURRENCY);
        try {
          console.log(`peers: ${system.name}, ${FLOW} items at ${FLOW_LATENCY_MS} ms`);
          result(system.name).flow = await steadyFlow(system, postmaster);
          console.log(`peers: ${system.name}, ${TRIES} pauses and resumes`);
          result(system.name).control = await pauseAndResume(system);
          console.log(system.name, result(system.name).flow, result(system.name).control);
        } finally {
          await system.close();
        }
      }
    } finally {
      await appPool.end();
    }
  } finally {
    await redis?.stop();
    await postgres?.stop();
  }
  const list = [...results.values()];
  await writeFile(LAST_RUN, JSON.stringify(list, null, 1));
  console.log(`peers: raw results in ${LAST_RUN}`);
  if (!QUICK) await report(list);
  return list;
}

/** The 200 ms case in words: our CPU per item there against the best peer's, and what rest costs. */
function flowCpuSentence(list: readonly PeerResult[]): string {
  const perItem = (each: PeerResult | undefined) => (each?.flow?.cpu ? each.flow.cpu.totalMs / FLOW : Number.NaN);
  const ours = list.find((each) => each.name === "us");
  const peers = list.filter((each) => each.name !== "us" && each.flow?.cpu);
  if (!ours?.flow?.cpu || peers.length === 0) return "";
  const best = peers.reduce((a, b) => (perItem(a) <= perItem(b) ? a : b));
  // The run lasts about FLOW / overall seconds (first to last finish).
  const seconds = FLOW / ours.flow.overall;
  const restShare = ours.flow.idleCpuPerSecond === undefined ? undefined : (ours.flow.idleCpuPerSecond * seconds) / ours.flow.cpu.totalMs;
  return `With ${FLOW_LATENCY_MS} ms latency, where items finish one at a time and each turn of our window stores one, ours is ${perItem(ours).toFixed(2)} ms against ${best.name}'s ${perItem(best).toFixed(2)} ms (${(perItem(ours) / perItem(best)).toFixed(1)}×)${
    restShare === undefined ? "" : `; about ${(Math.min(1, restShare) * 100).toFixed(0)}% of ours is what our processes cost at rest over the run's length (the row under it)`
  }.`;
}

async function report(list: readonly PeerResult[]): Promise<void> {
  const versions = {
    dbos: await packageVersion("@dbos-inc/dbos-sdk"),
    bullmq: await packageVersion("bullmq"),
    ioredis: await packageVersion("ioredis"),
  };
  const row = (label: string, pick: (result: PeerResult) => string) => `| ${label} | ${list.map(pick).join(" | ")} |`;
  const p50p99 = (values: readonly number[] | undefined) => (values ? `${ms(median(values))} / ${ms(percentile(values, 99))}` : "–");
  const cpuParts = (cpu: CpuMeasurement) =>
    Object.entries(cpu.ms)
      .map(([name, value]) => `${name} ${(value / BIG).toFixed(2)}`)
      .join(", ");
  const ours = list.find((each) => each.name === "us");
  const peers = list.filter((each) => each.name !== "us" && each.big);
  const bestPeerCpu = Math.min(...peers.map((each) => each.big!.cpu.totalMs / BIG));
  const ourCpu = ours?.big ? ours.big.cpu.totalMs / BIG : Number.NaN;
  await writeSection(
    "peers",
    `## Against the peers a user would pick instead (\`bench/peers\`)

Measured ${today()} on ${machine()}, all in one run (\`pnpm bench peers\`), one system after the other
on the same throwaway PostgreSQL cluster (embedded binaries, the product's own) and, for BullMQ, a
\`redis-server\` (Debian's) that the benchmark starts on 127.0.0.1 and stops after. Peers: DBOS Transact
\`@dbos-inc/dbos-sdk\` ${versions.dbos} and BullMQ \`bullmq\` ${versions.bullmq} on \`ioredis\` ${versions.ioredis}, pinned in
\`bench/peers/package.json\` (a workspace package of its own: the product's apps do not depend on them).
Each item is the same work everywhere: the product's simulated generator (\`SimulatedGenerator\`, no
jitter, no failures), then the question stored as JSON in a PostgreSQL row. "us" is the product as
\`pnpm dev\` runs it (API, engine, auth stand-in), driven through the REST API; each peer is one Node
worker process that enqueues, runs and controls its batch with the peer's library, driven over IPC
(\`bench/peers/dbos-worker.ts\`, \`bench/peers/bullmq-worker.ts\`).

| measure | ${list.map((each) => each.name).join(" | ")} |
| --- | ${list.map(() => "---").join(" | ")} |
${row(`${BIG.toLocaleString("en")} items, zero latency, concurrency ${BIG_CONCURRENCY}: throughput`, (each) => (each.big ? `${(BIG / each.big.seconds).toFixed(0)} items/s (${each.big.seconds.toFixed(1)} s)` : "–"))}
${row("…CPU per item, all processes involved", (each) => (each.big ? `**${(each.big.cpu.totalMs / BIG).toFixed(2)} ms**` : "–"))}
${row("…of which (ms per item)", (each) => (each.big ? cpuParts(each.big.cpu) : "–"))}
${row("…items done twice / lost", (each) => (each.big ? `${each.big.twice} / ${each.big.lost}` : "–"))}
${row(`${FLOW} items, ${FLOW_LATENCY_MS} ms latency, concurrency ${FLOW_CONCURRENCY}: steady throughput (middle 80%), share of the ideal ${IDEAL}/s`, (each) => (each.flow ? `${each.flow.steady.toFixed(1)} items/s = **${((each.flow.steady / IDEAL) * 100).toFixed(0)}%**` : "–"))}
${row("…CPU per item, all processes involved (items finish one at a time here; the run's wall time at rest is in it too)", (each) => (each.flow?.cpu ? `${(each.flow.cpu.totalMs / FLOW).toFixed(2)} ms` : "–"))}
${row(`at rest (nothing to do, ${IDLE_SECONDS} s before that run): CPU per second, all processes`, (each) => (each.flow?.idleCpuPerSecond === undefined ? "–" : `${each.flow.idleCpuPerSecond.toFixed(1)} ms/s`))}
${row(`pause call until it returned, p50 / p99 (${TRIES} tries)`, (each) => p50p99(each.control?.pauseCallMs))}
${row(`pause sent → last item started, p50 / p99 (0: none started after the pause was sent)`, (each) => p50p99(each.control?.pauseToLast))}
${row(`items started after the pause had returned (all ${TRIES} tries)`, (each) => (each.control ? String(each.control.startedAfterReturn) : "–"))}
${row(`resume sent → next item started, p50 / p99 (${TRIES} tries)`, (each) => p50p99(each.control?.resumeToNext))}
${row(`SIGKILL of the worker at ${KILL_AT.toLocaleString("en")} of ${BIG.toLocaleString("en")} items: lost / done twice`, (each) => (each.kill ? `${each.kill.lost} / ${each.kill.twice}` : "–"))}
${row("…kill → last item stored (includes the restart)", (each) => (each.kill ? `${each.kill.secondsAfterKill.toFixed(1)} s${each.kill.finished ? "" : " (not finished)"}` : "–"))}

CPU per item: our ${Number.isFinite(ourCpu) ? `${ourCpu.toFixed(2)} ms` : "–"} against the best peer's ${Number.isFinite(bestPeerCpu) ? `${bestPeerCpu.toFixed(2)} ms` : "–"}${
      Number.isFinite(ourCpu) && Number.isFinite(bestPeerCpu) ? ` (${(ourCpu / bestPeerCpu).toFixed(1)}×; target ≤ 1×: ${ourCpu <= bestPeerCpu ? "met" : "missed"})` : ""
    }. ${flowCpuSentence(list)} Where it goes in our processes is in the profile section below. Items/s is wall-clock
on a shared 2-core machine and the systems take turns, so other load during one system's turn shows
in its items/s (compare \`bench/pipeline\`'s 10,000 items, measured alone); CPU per item is
much less sensitive to that.

How it was measured:
- CPU: utime + stime from \`/proc/<pid>/stat\` before and after the 10,000-item batch, for each
  process tree involved (for us: the API and the engine, each a \`tsx\` parent and its Node child; for
  a peer: its worker; BullMQ: also \`redis-server\`), plus the PostgreSQL postmaster and all its
  children (backends, WAL writer, checkpointer…; backends that ended count through the postmaster's
  cutime/cstime). The cluster is shared, so the benchmark's own polling (one query every 200 ms)
  counts too, the same for every system. The auth stand-in and the benchmark's process are not
  counted.
- "Done twice": for us, items whose generation was started more than once (\`attempts > 1\`: an
  item in flight when the API died is claimed again); for a peer, items whose row was stored more
  than once (the store counts itself). Ours counts more (a generation can be repeated without a
  second store), so the comparison is at least fair to the peers.
- Pause: for us \`POST …/pause\` (the 200 comes after the batch row is \`paused\` under its row lock);
  DBOS: \`DBOS.cancelWorkflow(batch, { cancelChildren: true })\`; BullMQ: \`Queue.pause()\`. Resume: our
  \`POST …/resume\`; DBOS: \`DBOS.resumeWorkflow(batch)\` and \`DBOS.resumeWorkflows(cancelled items,
  { queueName })\`; BullMQ: \`Queue.resume()\`. Start times: for us \`batch_items.started_at\`; for a peer,
  the worker reports each generation's start over IPC during these tries only.
- SIGKILL: for us the API process group (it runs the steps; the engine keeps the run and retries the
  step, the API is restarted with the same command and environment); for a peer its worker process,
  started again at once.

Where the peers' model differs from ours:
- **Pause scope.** Ours pauses one batch: others keep running, and the pause holds across restarts
  (it is a row). BullMQ's \`Queue.pause()\` pauses the whole queue, every batch of every user on it
  (per-batch pause needs a queue and worker per batch, or BullMQ Pro's groups). DBOS has no pause:
  cancel stops the workflow and its children at their next step and resume re-enqueues them, so a
  "pause" rewrites one row per pending item (here up to ${CONTROL_BATCH.toLocaleString("en")}) and a resume replays the batch
  workflow's recorded steps; a cancelled workflow also reads as CANCELLED, not paused.
- **Where the items are.** Ours writes every item row when the batch is created (the live progress
  and the list need them), and the runner stores and claims them in turns of its window: one SQL
  call per turn under the batch row lock stores every item that finished since the last turn and
  claims the free slots' next items (docs/decisions/runner-tick.md). With an instant generator
  many items finish together and share a commit, which is much of our low CPU per item in the
  10,000-item row; at 200 ms latency items finish one at a time, and the CPU row under it shows
  that case. BullMQ's items are
  jobs in Redis (the stored question is the only PostgreSQL write); DBOS's are child workflows with a
  status row and one checkpoint per step in its system tables.
- **Concurrency.** Ours is per batch (a sliding window); BullMQ's \`concurrency\` is per worker
  process, across every batch on the queue; DBOS's queue \`globalConcurrency\` is per queue.
- **After a crash.** Ours re-claims an in-flight item once its claim lease lapses; BullMQ moves a
  stalled job back after its lock expires (30 s by default); DBOS recovers the PENDING workflows of
  the executor when it launches again, re-running a step that had not been checkpointed.
- **Dispatch by polling.** DBOS's queue dispatcher polls its table every \`minPollingIntervalMs\`
  (default 1 s, which caps a queue at \`concurrency\` starts a second: 5 items/s at concurrency 5, a
  fifth of the ideal here, and 20 items/s for the 10,000 items). This run registers the queue with
  ${DBOS_POLL_MS} ms, a documented queue parameter, to let it compete; its dispatcher still backs off on
  contention. Ours and BullMQ's start the next item as soon as a slot frees.
- **Durability of the queue itself.** PostgreSQL commits are fsynced (us, DBOS); the Redis here
  writes its append-only file every second, as BullMQ recommends, so a machine crash (not measured)
  could lose up to a second of BullMQ's state.

![Us and the peers: items/s, CPU per item, control latency](benchmarks-peers.svg)
`,
  );
  const value = (each: PeerResult, pick: (result: PeerResult) => number | undefined) => ({ label: each.name, value: pick(each) ?? Number.NaN });
  await writeFile(
    PEERS_CHART,
    barChartSvg(`Us and the peers (bench/peers, ${today()})`, `${machine()}; one run, same PostgreSQL; DBOS queue polled every ${DBOS_POLL_MS} ms`, [
      { title: "Throughput, 10,000 items", unit: "items/s (higher is better)", values: list.map((each) => value(each, (r) => (r.big ? BIG / r.big.seconds : undefined))) },
      { title: "CPU per item", unit: "ms, all processes (lower is better)", values: list.map((each) => value(each, (r) => (r.big ? r.big.cpu.totalMs / BIG : undefined))) },
      { title: "Pause call → returned", unit: "ms, median of 20 (lower is better)", values: list.map((each) => value(each, (r) => (r.control ? median(r.control.pauseCallMs) : undefined))) },
      { title: "Resume → next item started", unit: "ms, median of 20 (lower is better)", values: list.map((each) => value(each, (r) => (r.control ? median(r.control.resumeToNext) : undefined))) },
    ]),
  );
}

if (import.meta.url === `file://${process.argv[1]}`) await runPeersBench();
