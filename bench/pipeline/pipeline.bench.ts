import { machine, today, writeSection } from "../lib/report.ts";
import { startBenchStack, waitUntil, type BenchStack } from "../lib/stack.ts";

// bench/pipeline: a 10,000-item batch at zero generator latency (time, peak memory, steps per
// run, exactly-once), and steady throughput at 200 ms latency and concurrency 5 against the ideal
// 25 items/s. Run by `pnpm bench`, or alone with `pnpm tsx bench/pipeline/pipeline.bench.ts`.

const config = { topic: "Cardiology", questionType: "single_best_answer", difficulty: "medium", generator: "simulated" };

async function batchStatus(b: BenchStack, batchId: string) {
  const { rows } = await b.pool.query<{ status: string; completed_items: number; failed_items: number }>(
    "SELECT status, completed_items, failed_items FROM batch_jobs WHERE id = $1",
    [batchId],
  );
  return rows[0]!;
}

async function bigBatch() {
  const b = await startBenchStack({ SIMULATED_LATENCY_MS: "0", SIMULATED_FAILURE_RATE: "0" });
  try {
    const started = performance.now();
    const created = await b.api<{ id: string }>("POST", "/api/v1/generation/batch", { ...config, count: 10_000, concurrency: 20 });
    if (created.status !== 201) throw new Error(`create failed: ${JSON.stringify(created.body)}`);
    const batchId = created.body.data.id;
    let peakRss = 0;
    const done = await waitUntil(async () => {
      peakRss = Math.max(peakRss, await b.apiPeakRssMb());
      const row = await batchStatus(b, batchId);
      return ["completed", "completed_with_errors", "failed"].includes(row.status) ? row : undefined;
    }, 30 * 60_000, 500);
    const seconds = (performance.now() - started) / 1000;
    peakRss = Math.max(peakRss, await b.apiPeakRssMb());
    const { rows: once } = await b.pool.query<{ items: string; generated_once: string }>(
      "SELECT count(*) AS items, count(*) FILTER (WHERE attempts = 1 AND status = 'completed' AND result IS NOT NULL) AS generated_once FROM batch_items WHERE batch_id = $1",
      [batchId],
    );
    const { rows: steps } = await b.pool.query<{ runs: string; max_steps: string }>(
      `SELECT count(DISTINCT r.id) AS runs, coalesce(max(s.n), 0) AS max_steps
       FROM engine.runs r
       LEFT JOIN (SELECT run_id, count(*) AS n FROM engine.steps GROUP BY run_id) s ON s.run_id = r.id
       WHERE r.function_id LIKE '%batch-generate' AND r.event -> 'data' ->> 'batchId' = $1`,
      [batchId],
    );
    return {
      status: done.status,
      seconds,
      itemsPerSecond: 10_000 / seconds,
      peakRss,
      items: Number(once[0]!.items),
      generatedOnce: Number(once[0]!.generated_once),
      runs: Number(steps[0]!.runs),
      maxSteps: Number(steps[0]!.max_steps),
    };
  } finally {
    await b.close();
  }
}

async function throughput() {
  const b = await startBenchStack({ SIMULATED_LATENCY_MS: "200", SIMULATED_LATENCY_JITTER: "0", SIMULATED_FAILURE_RATE: "0" });
  try {
    const count = 500;
    const created = await b.api<{ id: string }>("POST", "/api/v1/generation/batch", { ...config, count, concurrency: 5 });
    const batchId = created.body.data.id;
    await waitUntil(async () => ((await batchStatus(b, batchId)).status === "completed" ? true : undefined), 10 * 60_000, 250);
    const { rows } = await b.pool.query<{ t: Date }>("SELECT finished_at AS t FROM batch_items WHERE batch_id = $1 ORDER BY finished_at", [batchId]);
    // Steady state: drop the first and last 10% (ramp-up and the tail).
    const times = rows.map((row) => row.t.getTime());
    const from = Math.floor(times.length * 0.1);
    const to = Math.floor(times.length * 0.9);
    const steady = ((to - from) / (times[to]! - times[from]!)) * 1000;
    const overall = (count / (times[times.length - 1]! - times[0]!)) * 1000;
    return { steady, overall, ideal: 25 };
  } finally {
    await b.close();
  }
}

export async function runPipelineBench(): Promise<void> {
  const big = await bigBatch();
  console.log("10,000-item batch", big);
  const flow = await throughput();
  console.log("throughput", flow);
  await writeSection(
    "pipeline",
    `## Pipeline (\`bench/pipeline\`)

Measured ${today()} on ${machine()}: the product as \`pnpm dev\` runs it (API, engine, auth stand-in,
embedded PostgreSQL as separate processes on 127.0.0.1), simulated generator.

| measure | result | target |
| --- | --- | --- |
| 10,000 items, zero latency, concurrency 20: time to \`${big.status}\` | ${big.seconds.toFixed(1)} s (${big.itemsPerSecond.toFixed(0)} items/s) | completes |
| …items generated exactly once (attempts = 1, result stored) | ${big.generatedOnce} of ${big.items} | all |
| …orchestrator runs / most steps in one run | ${big.runs} / ${big.maxSteps} | < 1,000 steps |
| …peak memory of the API process (VmHWM) | ${big.peakRss.toFixed(0)} MB | |
| 500 items, 200 ms latency, concurrency 5: steady throughput (middle 80%) | ${flow.steady.toFixed(1)} items/s = ${((flow.steady / flow.ideal) * 100).toFixed(0)}% of the ideal ${flow.ideal} | ≥ 85% |
| …whole batch, first to last finish | ${flow.overall.toFixed(1)} items/s | |
`,
  );
}

if (import.meta.url === `file://${process.argv[1]}`) await runPipelineBench();
