import { mkdtemp, readdir, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { startCpuMeter, processTree } from "../lib/cpu.ts";
import { summariseProfile, type ProfileSummary } from "../lib/cpuprofile.ts";
import { startBenchPostgres } from "../lib/postgres.ts";
import { machine, median, ms, percentile, today, writeSection } from "../lib/report.ts";
import { startBenchStack, waitUntil } from "../lib/stack.ts";

// bench/profile: where the CPU goes under the load of bench/load (100 batches of 40 items at once,
// concurrency 4, 100 ms simulated latency, 20 readers), through the product as `pnpm dev` runs it
// with `node --cpu-prof` on its processes (opt-in NODE_OPTIONS through bench/lib/stack.ts) and
// pg_stat_statements preloaded in the throwaway cluster. The readers also poll GET /health, so the
// batch detail's latency is compared with health's in the same run.

const BATCHES = 100;
const ITEMS = 40;
const CONCURRENCY = 4;
const LATENCY_MS = 100;
const READERS = 20;
const TOTAL_ITEMS = BATCHES * ITEMS;

/** Seconds since the process started, from /proc (starttime is in clock ticks since boot). */
async function processAgeSeconds(pid: number): Promise<number> {
  const stat = await readFile(`/proc/${pid}/stat`, "utf8");
  const startTicks = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[19]);
  const uptime = Number((await readFile("/proc/uptime", "utf8")).split(" ")[0]);
  return uptime - startTicks / 100;
}

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
      { databaseUrl: await postgres.database("batchgen"), nodeOptions: `--cpu-prof --cpu-prof-dir=${profileDir}` },
    );
    let windows: Record<string, { pid: number; from: number; to: number }> = {};
    let result: Omit<ProfileResult, "profiles">;
    try {
      const { api, engine } = b.pids();
      const nodePid = async (root: number) => (await processTree(root)).at(-1)!;
      const targets = { api: await nodePid(api), engine: await nodePid(engine) };
      await b.pool.query("CREATE EXTENSION IF NOT EXISTS pg_stat_statements");
      await b.pool.query("SELECT pg_stat_statements_reset()");
      const meter = await startCpuMeter({ api: [api], engine: [engine], postgres: [await postgres.postmasterPid()] });
      const from = { api: await processAgeSeconds(targets.api), engine: await processAgeSeconds(targets.engine) };
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
      const to = { api: await processAgeSeconds(targets.api), engine: await processAgeSeconds(targets.engine) };
      windows = {
        api: { pid: targets.api, from: from.api * 1000, to: to.api * 1000 },
        engine: { pid: targets.engine, from: from.engine * 1000, to: to.engine * 1000 },
      };
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
    for (const [name, window] of Object.entries(windows)) {
      const file = files.find((each) => each.includes(`.${window.pid}.`));
      if (!file) {
        console.warn(`no CPU profile for the ${name} (pid ${window.pid}) in ${profileDir}`);
        continue;
      }
      profiles[name] = await summariseProfile(path.join(profileDir, file), window.from, window.to);
    }
    const full: ProfileResult = { ...result, profiles };
    await report(full);
    return full;
  } finally {
    await postgres.stop();
    await rm(profileDir, { recursive: true, force: true });
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
with \`node --cpu-prof\` on the API and the engine (opt-in \`nodeOptions\` of \`bench/lib/stack.ts\`, passed as
NODE_OPTIONS; \`pnpm dev\` is unchanged) and \`pg_stat_statements\` preloaded in the benchmark's throwaway
cluster only. The readers cycle through batch detail, items, the list and \`GET /health\`, so detail and
health are measured side by side under the same load. Profiles are cut to the load's window. All
${TOTAL_ITEMS} items done in ${result.seconds.toFixed(1)} s; non-2xx answers: ${result.errors}.

| CPU during the load (/proc utime + stime) | total | per item |
| --- | --- | --- |
${Object.entries(result.cpuMs)
  .map(([name, value]) => `| ${name} | ${(value / 1000).toFixed(1)} s | ${perItem(value)} |`)
  .join("\n")}
| all three | ${(cpuTotal / 1000).toFixed(1)} s | **${perItem(cpuTotal)}** |

Under this load, \`GET /generation/batch/:id\` took ${ms(median(result.reads.detail))} at the median (p99 ${ms(percentile(result.reads.detail, 99))},
${result.reads.detail.length} requests) against \`GET /health\`'s ${ms(median(result.reads.health))} (p99 ${ms(percentile(result.reads.health, 99))}, ${result.reads.health.length} requests):
**${ratio.toFixed(1)}×** (target ≤ 2×: ${ratio <= 2 ? "met" : `missed by ${(ratio - 2).toFixed(1)}×`}). Items
\`?limit=50\`: ${ms(median(result.reads.items))}; list: ${ms(median(result.reads.list))}. The load is in the same process that
answers: every step of every batch is an HTTP call from the engine into the API, so health waits in
the same event loop queue as the steps.

API, top self time (where the samples landed):

${profileTable("api", "self", 12)}

API, our functions by inclusive time (the function and everything it called):

${profileTable("api", "inclusive", 12)}

Engine, top self time:

${profileTable("engine", "self", 8)}

Engine, our functions by inclusive time:

${profileTable("engine", "inclusive", 8)}

PostgreSQL, top statements by execution time (\`pg_stat_statements\`, this database only; execution
time is server time, not only CPU):

${statements}
${NEXT_CUTS}`,
  );
}

// Written from the profile above (and the one of the same run before it); the product's code is
// another engineer's right now, so these are recommendations, not changes.
const NEXT_CUTS = "";

if (import.meta.url === `file://${process.argv[1]}`) await runProfileBench();
