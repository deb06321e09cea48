import { mkdtemp, readdir, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { startCpuMeter, processTree } from "../lib/cpu.ts";
import { summariseProfile, type ProfileSummary } from "../lib/cpuprofile.ts";
import { startBenchPostgres } from "../lib/postgres.ts";
import { machine, median, ms, percentile, today, writeSection } from "../lib/report.ts";
import { startBenchStack, waitUntil } from "../lib/stack.ts";

// bench/profile: where the CPU goes under the load of bench/load (100 batches of 40 items at once,
// concurrency 4, 100 ms simulated latency, 20 readers), through the product as `pnpm dev` runs it
// with V8's CPU profiler on its processes (opt-in cpuProfileDir of bench/lib/stack.ts) and
// pg_stat_statements preloaded in the throwaway cluster. The readers also poll GET /health, so the
// batch detail's latency is compared with health's in the same run.

const BATCHES = 100;
const ITEMS = 40;
const CONCURRENCY = 4;
const LATENCY_MS = 100;
const READERS = 20;
const TOTAL_ITEMS = BATCHES * ITEMS;

interface Statement {
  readonly query: string;
  readonly calls: number;
  readonly total_ms: number;
  readonly rows: number;
}

export interface ProfileResult {
  readonly seconds: number;
  readonly cpuMs: Record<string, number>;
  readonly profiles: Record<string, ProfileSummary>;
  readonly statements: readonly Statement[];
  readonly statementsTotalMs: number;
  readonly reads: Record<"detail" | "items" | "list" | "health", number[]>;
  readonly errors: number;
}

export async function runProfileBench(): Promise<ProfileResult> {
  const profileDir = await mkdtemp(path.join(tmpdir(), "batchgen-bench-cpuprof-"));
  const postgres = await startBenchPostgres();
  try {
    const b = await startBenchStack(
      {
        SIMULATED_LATENCY_MS: String(LATENCY_MS),
        SIMULATED_LATENCY_JITTER: "0.3",
        SIMULATED_FAILURE_RATE: "0",
        RATE_LIMIT_CREATE_BURST: "100000",
        RATE_LIMIT_CREATE_PER_MINUTE: "1000000",
        DATABASE_POOL_SIZE: "20",
      },
      { databaseUrl: await postgres.database("batchgen"), cpuProfileDir: profileDir },
    );
    let targets: Record<string, number> = {};
    let result: Omit<ProfileResult, "profiles">;
    try {
      const { api, engine } = b.pids();
      const nodePid = async (root: number) => (await processTree(root)).at(-1)!;
      targets = { api: await nodePid(api), engine: await nodePid(engine) };
      // The first SIGUSR2 starts the profiler in each process (bench/lib/cpu-profile-preload.mjs).
      for (const pid of Object.values(targets)) process.kill(pid, "SIGUSR2");
      await b.pool.query("CREATE EXTENSION IF NOT EXISTS pg_stat_statements");
      await b.pool.query("SELECT pg_stat_statements_reset()");
      const meter = await startCpuMeter({ api: [api], engine: [engine], postgres: [await postgres.postmasterPid()] });
      const started = performance.now();
      const created = await Promise.all(
        Array.from({ length: BATCHES }, async (_, index) => {
          const response = await b.api<{ id: string }>("POST", "/api/v1/generation/batch", {
            topic: `Load topic ${index}`,
            questionType: "single_best_answer",
            difficulty: "medium",
            count: ITEMS,
            concurrency: CONCURRENCY,
          });
          if (response.status !== 201) throw new Error(`create failed with ${response.status}`);
          return response.body.data.id;
        }),
      );
      const reads: ProfileResult["reads"] = { detail: [], items: [], list: [], health: [] };
      let errors = 0;
      let done = false;
      const readers = Array.from({ length: READERS }, async (_, reader) => {
        let turn = reader;
        while (!done) {
          const id = created[turn % created.length]!;
          const which = (["detail", "items", "list", "health"] as const)[turn % 4]!;
          const route =
            which === "detail"
              ? `/api/v1/generation/batch/${id}`
              : which === "items"
                ? `/api/v1/generation/batch/${id}/items?limit=50`
                : which === "list"
                  ? "/api/v1/generation/batch?limit=20"
                  : "/health";
          const response = await b.api("GET", route);
          if (response.status !== 200) errors += 1;
          reads[which].push(response.ms);
          turn += 5;
        }
      });
      await waitUntil(async () => {
        const { rows } = await b.pool.query<{ n: number }>("SELECT count(*)::int AS n FROM batch_jobs WHERE status <> 'completed'");
        return rows[0]!.n === 0 ? true : undefined;
      }, 30 * 60_000, 500);
      done = true;
      await Promise.all(readers);
      const seconds = (performance.now() - started) / 1000;
      const cpu = await meter.stop();
      // The second one stops it and writes <pid>.cpuprofile.
      for (const pid of Object.values(targets)) process.kill(pid, "SIGUSR2");
      await waitUntil(async () => ((await readdir(profileDir)).length >= Object.keys(targets).length ? true : undefined), 60_000, 200);
      const { rows: statements } = await b.pool.query<Statement>(
        `SELECT query, calls::int AS calls, total_exec_time::float8 AS total_ms, rows::int AS rows
         FROM pg_stat_statements WHERE dbid = (SELECT oid FROM pg_database WHERE datname = current_database())
         ORDER BY total_exec_time DESC`,
      );
      result = {
        seconds,
        cpuMs: cpu.ms,
        statements,
        statementsTotalMs: statements.reduce((sum, row) => sum + row.total_ms, 0),
        reads,
        errors,
      };
    } finally {
      // The profiles are written when the processes exit.
      await b.close();
    }
    const files = await readdir(profileDir);
    const profiles: Record<string, ProfileSummary> = {};
    for (const [name, pid] of Object.entries(targets)) {
      if (!files.includes(`${pid}.cpuprofile`)) {
        console.warn(`no CPU profile for the ${name} (pid ${pid}) in ${profileDir}`);
        continue;
      }
      profiles[name] = await summariseProfile(path.join(profileDir, `${pid}.cpuprofile`));
    }
    const full: ProfileResult = { ...result, profiles };
    await report(full);
    return full;
  } finally {
    await postgres.stop();
    // BENCH_KEEP_PROFILES=1 keeps the .cpuprofile files (open them in Chrome DevTools).
    if (process.env.BENCH_KEEP_PROFILES === "1") console.log(`CPU profiles kept in ${profileDir}`);
    else await rm(profileDir, { recursive: true, force: true });
  }
}

const perItem = (totalMs: number) => `${(totalMs / TOTAL_ITEMS).toFixed(3)} ms`;
const share = (part: number, whole: number) => `${((part / whole) * 100).toFixed(1)}%`;

async function report(result: ProfileResult): Promise<void> {
  const cpuTotal = Object.values(result.cpuMs).reduce((sum, value) => sum + value, 0);
  const ratio = median(result.reads.detail) / median(result.reads.health);
  const profileTable = (name: string, kind: "self" | "inclusive", count: number) => {
    const summary = result.profiles[name];
    if (!summary) return "(no profile)";
    return [
      `| ${kind === "self" ? "self time in" : "inclusive time of"} | per item | share of the ${name}'s sampled CPU |`,
      "| --- | --- | --- |",
      ...summary[kind].slice(0, count).map((row) => `| \`${row.place}\` | ${perItem(row.ms)} | ${share(row.ms, summary.busyMs)} |`),
    ].join("\n");
  };
  const statements = [
    "| statement | calls per item | exec time per item | share of all exec time |",
    "| --- | --- | --- | --- |",
    ...result.statements
      .slice(0, 10)
      .map(
        (row) =>
          `| \`${row.query.replace(/\s+/g, " ").replace(/\|/g, "\\|").slice(0, 110)}${row.query.length > 110 ? "…" : ""}\` | ${(row.calls / TOTAL_ITEMS).toFixed(2)} | ${perItem(row.total_ms)} | ${share(row.total_ms, result.statementsTotalMs)} |`,
      ),
  ].join("\n");
  await writeSection(
    "profile",
    `## Where the CPU goes under load (\`bench/profile\`)

Measured ${today()} on ${machine()}: the load of \`bench/load\` (${BATCHES} batches of ${ITEMS} items created at once,
concurrency ${CONCURRENCY}, simulated latency ${LATENCY_MS} ms, ${READERS} readers) through the product as \`pnpm dev\` runs it,
with V8's sampling CPU profiler (what \`node --cpu-prof\` runs, 1 ms interval) on the API and the engine
for exactly the load's window (Node 20 refuses \`--cpu-prof\` in NODE_OPTIONS, so the opt-in
\`cpuProfileDir\` of \`bench/lib/stack.ts\` preloads \`bench/lib/cpu-profile-preload.mjs\`, which starts and
stops it on SIGUSR2 through \`node:inspector\`; \`pnpm dev\` is unchanged) and \`pg_stat_statements\` preloaded in the benchmark's throwaway
cluster only. The readers cycle through batch detail, items, the list and \`GET /health\`, so detail and
health are measured side by side under the same load. All
${TOTAL_ITEMS} items done in ${result.seconds.toFixed(1)} s; non-2xx answers: ${result.errors}.

| CPU during the load (/proc utime + stime) | total | per item |
| --- | --- | --- |
${Object.entries(result.cpuMs)
  .map(([name, value]) => `| ${name} | ${(value / 1000).toFixed(1)} s | ${perItem(value)} |`)
  .join("\n")}
| all three | ${(cpuTotal / 1000).toFixed(1)} s | **${perItem(cpuTotal)}** |

Under this load, \`GET /generation/batch/:id\` took ${ms(median(result.reads.detail))} at the median (p99 ${ms(percentile(result.reads.detail, 99))},
${result.reads.detail.length} requests) against \`GET /health\`'s ${ms(median(result.reads.health))} (p99 ${ms(percentile(result.reads.health, 99))}, ${result.reads.health.length} requests):
**${ratio.toFixed(2)}×** (target ≤ 2×: ${ratio <= 2 ? "met" : `missed by ${(ratio - 2).toFixed(2)}×`}; this ratio moves between runs
on a shared machine, so read it with the p99s). Items
\`?limit=50\`: ${ms(median(result.reads.items))}; list: ${ms(median(result.reads.list))}. The load is in the same process that
answers: every step of every batch is an HTTP call from the engine into the API, so health waits in
the same event loop queue as the steps.

API, top self time (where the samples landed):

${profileTable("api", "self", 12)}

API, our functions by inclusive time (the function and everything it called; Express middleware
such as \`requestId\` includes the rest of the chain, which it calls synchronously through \`next()\`):

${profileTable("api", "inclusive", 12)}

Engine, top self time:

${profileTable("engine", "self", 8)}

Engine, our functions by inclusive time:

${profileTable("engine", "inclusive", 8)}

PostgreSQL, top statements by execution time (\`pg_stat_statements\`, this database only; execution
time is server time, not only CPU):

${statements}

${nextCuts(result)}`,
  );
}

/**
 * What this profile led to (issue 15), and the cuts it still shows, each with its measured share
 * from this run.
 */
function nextCuts(result: ProfileResult): string {
  const statementShare = (test: (query: string) => boolean) => {
    const matched = result.statements.filter((row) => test(row.query));
    const total = matched.reduce((sum, row) => sum + row.total_ms, 0);
    return `${share(total, result.statementsTotalMs)} of PostgreSQL's statement time (${perItem(total)} per item)`;
  };
  const apiShare = (name: string) => {
    const summary = result.profiles.api;
    const row = summary?.inclusive.find((each) => each.place.endsWith(` ${name}`));
    return summary && row ? `${share(row.ms, summary.busyMs)} of the API's CPU (${perItem(row.ms)} per item)` : "not in the profile";
  };
  const apiSelf = (prefix: string) => {
    const summary = result.profiles.api;
    const total = (summary?.self ?? []).filter((row) => row.place.startsWith(prefix)).reduce((sum, row) => sum + row.ms, 0);
    return summary ? `${share(total, summary.busyMs)} of the API's CPU (${perItem(total)} per item)` : "not in the profile";
  };
  return `### Cuts made, and what the profile still shows

Made (issue 15): **one SQL call per turn of the runner's window.** The first profile of this
benchmark (2026-12-02, before the change) had storing an item — its own statement taking the batch
row lock and rewriting the batch row — at 66% of PostgreSQL's statement time, and the claim, a
five-round-trip transaction, at 10% of the API's CPU. Both are now \`runner_tick\`
(\`supabase/migrations/20261210100000_runner_tick.sql\`, docs/decisions/runner-tick.md): under the
batch row lock it stores what finished since the last turn, claims what is free and moves the
counters once. In this run: ${statementShare((query) => query.includes("runner_tick"))}; the window
loop (\`generateWindow\`) is ${apiShare("generateWindow")} inclusive. The 10,000-item batch of
\`bench/peers\`, measured before and after the change minutes apart on a quiet machine, went from
1.54 to 0.33 ms of CPU per item (the decision note has the figures).

Left, largest first:
1. **The engine's global advisory lock.** \`SELECT pg_advisory_xact_lock($1, 0)\` on one key for every
   lease (\`apps/engine/src/queue/lease.ts\`, \`leaseDueJobs\`) and every concurrency check
   (\`apps/engine/src/store/runs.ts\`, \`concurrencyAllows\`, and \`engine.apply_step_run\`) serialises
   the engine's writers: ${statementShare((query) => query.includes("pg_advisory_xact_lock"))}. That
   is time spent waiting, not CPU: this load is CPU-bound (the three processes use about
   ${((Object.values(result.cpuMs).reduce((sum, value) => sum + value, 0) / 1000) / result.seconds).toFixed(1)} of the 2 cores
   over the run), so the lock does not set its pace. Cut when it does: a lock per concurrency key
   (every step of ours has one, the batch id), taken in one order by all three places.
2. **Socket writes.** \`native writev\` (the write system call behind every PostgreSQL query and HTTP
   response) is ${apiSelf("native writev")}; Node's stream and event plumbing around it adds
   ${apiSelf("Node ")}. Much of it is the 20 readers' own requests and the engine's HTTP call per
   step. \`GET /health\` waits ${ms(median(result.reads.health))} under this load because the steps
   and the readers share one event loop; serving \`/api/inngest\` from a second process would keep
   reads off the steps' queue.
3. **Notifications.** Every status change of an item and every change of the batch row sends a JSON
   NOTIFY (\`notify_batch_progress\`), and the API parses each one
   (\`apps/server/src/lib/batch-events-hub.ts\`, \`dispatch\`: ${apiShare("dispatch")}). A turn of the
   window now changes the batch row once for all the items it stores and claims.`;
}

if (import.meta.url === `file://${process.argv[1]}`) await runProfileBench();
