import { machine, median, ms, percentile, today, writeSection } from "../lib/report.ts";
import { startBenchStack, waitUntil, type BenchStack } from "../lib/stack.ts";

// bench/controls: latency of the control endpoints under 50 concurrent clients beside GET /health
// in the same run; how long a pause takes to drain; how soon a resume starts the next item.

const config = { topic: "Neurology", questionType: "clinical_vignette", difficulty: "hard", generator: "simulated" };
const CLIENTS = 50;
const ROUNDS = 10;

async function createBatch(b: BenchStack, count: number, concurrency: number): Promise<string> {
  const created = await b.api<{ id: string }>("POST", "/api/v1/generation/batch", { ...config, count, concurrency });
  if (created.status !== 201) throw new Error(`create failed: ${JSON.stringify(created.body)}`);
  return created.body.data.id;
}

async function generating(b: BenchStack, batchId: string): Promise<number> {
  const { rows } = await b.pool.query<{ n: number }>("SELECT generating_items AS n FROM batch_jobs WHERE id = $1", [batchId]);
  return rows[0]!.n;
}

async function oneClientLatency(b: BenchStack): Promise<number[]> {
  const batchId = await createBatch(b, 2_000, 1);
  const times: number[] = [];
  for (let round = 0; round < 20; round += 1) {
    for (const action of ["pause", "resume"]) {
      times.push((await b.api("POST", `/api/v1/generation/batch/${batchId}/${action}`)).ms);
    }
  }
  await b.api("POST", `/api/v1/generation/batch/${batchId}/cancel`);
  return times;
}

async function endpointLatency(b: BenchStack) {
  const batches = await Promise.all(Array.from({ length: CLIENTS }, () => createBatch(b, 2_000, 1)));
  const control: number[] = [];
  const health: number[] = [];
  let errors = 0;
  let done = false;
  // Health is polled side by side with the control load, so the ratio compares like with like.
  const pollers = Array.from({ length: 10 }, async () => {
    while (!done) {
      const started = performance.now();
      const response = await fetch(`${b.stack.urls.api}/health`);
      await response.arrayBuffer();
      health.push(performance.now() - started);
    }
  });
  // Each client pauses and resumes its own batch: every request is a real state change.
  await Promise.all(
    batches.map(async (batchId) => {
      for (let round = 0; round < ROUNDS; round += 1) {
        for (const action of ["pause", "resume"]) {
          const response = await b.api("POST", `/api/v1/generation/batch/${batchId}/${action}`);
          if (response.status !== 200) errors += 1;
          control.push(response.ms);
        }
      }
    }),
  );
  done = true;
  await Promise.all(pollers);
  await Promise.all(batches.map((batchId) => b.api("POST", `/api/v1/generation/batch/${batchId}/cancel`)));
  return { control, health, errors };
}

async function pauseDrainAndResumeStart(b: BenchStack) {
  const drain: number[] = [];
  const resumeToStart: number[] = [];
  const batchId = await createBatch(b, 5_000, 5);
  await waitUntil(async () => ((await generating(b, batchId)) === 5 ? true : undefined), 30_000, 20);
  for (let round = 0; round < 20; round += 1) {
    await new Promise((resolve) => setTimeout(resolve, 150 + Math.random() * 200));
    const paused = await b.api<{ timestamp: string }>("POST", `/api/v1/generation/batch/${batchId}/pause`);
    const pausedAt = Date.parse(paused.body.data.timestamp);
    await waitUntil(async () => ((await generating(b, batchId)) === 0 ? true : undefined), 30_000, 20);
    const { rows: last } = await b.pool.query<{ t: Date | null }>(
      "SELECT max(finished_at) AS t FROM batch_items WHERE batch_id = $1 AND started_at <= $2",
      [batchId, new Date(pausedAt)],
    );
    if (last[0]?.t) drain.push(last[0].t.getTime() - pausedAt);
    // Let the orchestrator park on its wait, as it would during a real pause.
    await new Promise((resolve) => setTimeout(resolve, 500));
    const resumed = await b.api<{ timestamp: string }>("POST", `/api/v1/generation/batch/${batchId}/resume`);
    const resumedAt = Date.parse(resumed.body.data.timestamp);
    const next = await waitUntil(async () => {
      const { rows } = await b.pool.query<{ t: Date | null }>("SELECT min(started_at) AS t FROM batch_items WHERE batch_id = $1 AND started_at >= $2", [
        batchId,
        new Date(resumedAt),
      ]);
      return rows[0]?.t ?? undefined;
    }, 30_000, 10);
    resumeToStart.push(next.getTime() - resumedAt);
  }
  await b.api("POST", `/api/v1/generation/batch/${batchId}/cancel`);
  return { drain, resumeToStart };
}

export async function runControlsBench(): Promise<void> {
  const b = await startBenchStack({
    SIMULATED_LATENCY_MS: "300",
    SIMULATED_LATENCY_JITTER: "0.3",
    SIMULATED_FAILURE_RATE: "0",
    // One user drives every client here; the per-user limits would otherwise answer 429.
    RATE_LIMIT_CONTROL_BURST: "100000",
    RATE_LIMIT_CONTROL_PER_MINUTE: "1000000",
    RATE_LIMIT_CREATE_BURST: "1000",
  });
  try {
    const alone = await oneClientLatency(b);
    const latency = await endpointLatency(b);
    const timing = await pauseDrainAndResumeStart(b);
    const ratio = median(latency.control) / median(latency.health);
    console.log({ control: [median(latency.control), percentile(latency.control, 99)], health: [median(latency.health), percentile(latency.health, 99)], ratio, timing });
    await writeSection(
      "controls",
      `## Controls (\`bench/controls\`)

Measured ${today()} on ${machine()}: the product as \`pnpm dev\` runs it, simulated generator with
300 ms median latency. First one client pauses and resumes one running batch 20 times; then
${CLIENTS} concurrent clients on loopback each pause and resume their own running batch ${ROUNDS} times
(${latency.control.length} control requests, ${latency.errors} not 200) while 10 more clients poll \`GET /health\` side by side
(${latency.health.length} requests). Every pause and resume also wakes the engine, which calls back into the same
API process (one Node process on a 2-core machine shared with PostgreSQL and the engine).

| measure | p50 | p99 | target |
| --- | --- | --- | --- |
| \`POST …/pause\` and \`…/resume\`, one client | ${ms(median(alone))} | ${ms(percentile(alone, 99))} | |
| \`POST …/pause\` and \`…/resume\` at ${CLIENTS} clients | ${ms(median(latency.control))} | ${ms(percentile(latency.control, 99))} | |
| \`GET /health\` during that load (same run) | ${ms(median(latency.health))} | ${ms(percentile(latency.health, 99))} | |
| ratio control / health (medians, same load) | ${ratio.toFixed(1)}× | | |
| pause's 200 → last in-flight item finished (20 pauses, concurrency 5) | ${ms(median(timing.drain))} | ${ms(percentile(timing.drain, 99))} | ≈ one item's latency |
| resume's 200 → next item started (20 resumes of a parked run) | ${ms(median(timing.resumeToStart))} | ${ms(percentile(timing.resumeToStart, 99))} | < 150 ms / < 500 ms |

A control request is one transaction (row lock, status change, audit row, outbox row); the event is
sent to the engine after the answer. \`/health\` is one \`SELECT 1\`.
`,
    );
  } finally {
    await b.close();
  }
}

if (import.meta.url === `file://${process.argv[1]}`) await runControlsBench();
