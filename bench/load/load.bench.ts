import { machine, median, ms, percentile, today, writeSection } from "../lib/report.ts";
import { startBenchStack, waitUntil } from "../lib/stack.ts";

// bench/load: many batches at once. Creates BATCHES batches concurrently, then keeps readers
// polling the detail, items and list endpoints while everything generates; reports latency of
// each endpoint, errors, and how long the whole load took against its ideal.

const BATCHES = 100;
const ITEMS = 40;
const CONCURRENCY = 4;
const LATENCY_MS = 100;
const READERS = 20;

export async function runLoadBench(): Promise<void> {
  const b = await startBenchStack({
    SIMULATED_LATENCY_MS: String(LATENCY_MS),
    SIMULATED_LATENCY_JITTER: "0.3",
    SIMULATED_FAILURE_RATE: "0",
    RATE_LIMIT_CREATE_BURST: "100000",
    RATE_LIMIT_CREATE_PER_MINUTE: "1000000",
    DATABASE_POOL_SIZE: "20",
  });
  try {
    const started = performance.now();
    const createMs: number[] = [];
    const created = await Promise.all(
      Array.from({ length: BATCHES }, async (_, index) => {
        const response = await b.api<{ id: string }>("POST", "/api/v1/generation/batch", {
          topic: `Load topic ${index}`,
          questionType: "single_best_answer",
          difficulty: "medium",
          count: ITEMS,
          concurrency: CONCURRENCY,
        });
        createMs.push(response.ms);
        if (response.status !== 201) throw new Error(`create failed with ${response.status}`);
        return response.body.data.id;
      }),
    );

    const reads: Record<string, number[]> = { detail: [], items: [], list: [] };
    let errors = 0;
    let done = false;
    const readers = Array.from({ length: READERS }, async (_, reader) => {
      let turn = reader;
      while (!done) {
        const id = created[turn % created.length]!;
        const which = (["detail", "items", "list"] as const)[turn % 3]!;
        const route =
          which === "detail" ? `/api/v1/generation/batch/${id}` : which === "items" ? `/api/v1/generation/batch/${id}/items?limit=50` : "/api/v1/generation/batch?limit=20";
        const response = await b.api("GET", route);
        if (response.status !== 200) errors += 1;
        reads[which]!.push(response.ms);
        turn += 7;
      }
    });

    await waitUntil(async () => {
      const { rows } = await b.pool.query<{ n: number }>("SELECT count(*)::int AS n FROM batch_jobs WHERE status NOT IN ('completed')");
      return rows[0]!.n === 0 ? true : undefined;
    }, 30 * 60_000, 500);
    const seconds = (performance.now() - started) / 1000;
    done = true;
    await Promise.all(readers);
    const peakRss = await b.apiPeakRssMb();
    const { rows } = await b.pool.query<{ twice: number; missing: number }>(
      "SELECT count(*) FILTER (WHERE attempts > 1)::int AS twice, count(*) FILTER (WHERE result IS NULL)::int AS missing FROM batch_items",
    );
    // Ideal: every batch runs its own window of CONCURRENCY slots in parallel.
    const ideal = (ITEMS / CONCURRENCY) * (LATENCY_MS / 1000);
    const row = (name: string, values: number[]) => `| ${name} | ${values.length} | ${ms(median(values))} | ${ms(percentile(values, 99))} |`;
    console.log({ seconds, errors, createMs: [median(createMs), percentile(createMs, 99)], rows: rows[0] });
    await writeSection(
      "load",
      `## API under load (\`bench/load\`)

Measured ${today()} on ${machine()}: the product as \`pnpm dev\` runs it. ${BATCHES} batches of ${ITEMS} items
(concurrency ${CONCURRENCY}, simulated latency ${LATENCY_MS} ms) created at once, so up to ${BATCHES * CONCURRENCY} generations
in flight, while ${READERS} readers poll batch detail, items and the list without pause.

| request | count | p50 | p99 |
| --- | --- | --- | --- |
${row("`POST /generation/batch` (all at once)", createMs)}
${row("`GET /generation/batch/:id` during the load", reads.detail!)}
${row("`GET …/items?limit=50` during the load", reads.items!)}
${row("`GET /generation/batch?limit=20` during the load", reads.list!)}

- Non-2xx answers: ${errors}. Items generated more than once: ${rows[0]!.twice}; items without a result: ${rows[0]!.missing}.
- All ${BATCHES * ITEMS} items done in ${seconds.toFixed(1)} s; one batch alone would ideally take ${ideal.toFixed(1)} s, so
  the machine ran ${((BATCHES * ideal) / seconds).toFixed(1)} batches' worth of work in parallel (bounded by 2 cores: the
  generator is simulated, the cost is the pipeline itself).
- Peak memory of the API process: ${peakRss.toFixed(0)} MB.
`,
    );
  } finally {
    await b.close();
  }
}

if (import.meta.url === `file://${process.argv[1]}`) await runLoadBench();
