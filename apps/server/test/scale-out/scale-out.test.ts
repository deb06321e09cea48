import { randomUUID } from "node:crypto";
import { startTestIssuer, type TestIssuer } from "@batchgen/auth/testing";
import { createPool, type Pool } from "@batchgen/db";
import { createTestDatabase, type TestDatabase } from "@batchgen/db/testing";
import { VALID_STATUS_TRANSITIONS, type BatchControlAction, type BatchStatusTransition } from "@batchgen/types";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { buildApi, startCluster, type Cluster } from "../support/cluster.ts";
import { batchRow, collectStream, waitFor } from "../support/pipeline.ts";
import { itemsGeneratedMoreThanOnce, itemsWithoutResult, liveOrchestratorRuns, sampleLiveOrchestratorRuns } from "../fault/scenarios.ts";

// Scale-out (issue 14): the engine, two API processes from the build (node dist/index.js) on one
// database, and a round-robin proxy in front that the engine and the clients both use. Every API
// process runs the outbox dispatcher, the resume watchdog and the sweeper.

const LIMITS = { createBurst: 5, controlBurst: 60, streams: 3 };
const API_ENV: NodeJS.ProcessEnv = {
  SIMULATED_LATENCY_MS: "100",
  SIMULATED_LATENCY_JITTER: "0.3",
  SIMULATED_FAILURE_RATE: "0",
  // Short chunks, so one batch's steps land on both processes; fast lease takeover after a kill.
  BATCH_CHUNK_BUDGET_MS: "1000",
  BATCH_RUNNER_HEARTBEAT_MS: "500",
  BATCH_RUNNER_LEASE_STALE_MS: "2000",
  // Both processes' resume watchdogs look often, so they race for the same batches.
  BATCH_RESUME_WATCHDOG_MS: "200",
  DATABASE_POOL_SIZE: "5",
  // One window of a minute per user: every burst below falls inside one window.
  RATE_LIMIT_CREATE_BURST: String(LIMITS.createBurst),
  RATE_LIMIT_CREATE_PER_MINUTE: String(LIMITS.createBurst),
  RATE_LIMIT_CONTROL_BURST: String(LIMITS.controlBurst),
  RATE_LIMIT_CONTROL_PER_MINUTE: String(LIMITS.controlBurst),
  STREAMS_PER_USER: String(LIMITS.streams),
  STREAM_SLOT_STALE_MS: "3000",
};

let db: TestDatabase;
let pool: Pool;
let issuer: TestIssuer;
let cluster: Cluster;

beforeAll(async () => {
  await buildApi();
  db = await createTestDatabase(inject("pgAdminUrl"));
  pool = createPool(db.url, { max: 4 });
  pool.on("error", () => undefined);
  issuer = await startTestIssuer();
  cluster = await startCluster({ databaseUrl: db.url, supabaseUrl: issuer.url, apis: 2, proxy: true, apiEnv: API_ENV });
}, 120_000);
afterAll(async () => {
  await cluster?.close();
  await issuer?.close();
  await pool?.end();
  await db?.drop();
});

interface User {
  readonly id: string;
  readonly token: string;
}

async function createUser(): Promise<User> {
  const id = randomUUID();
  await pool.query("INSERT INTO auth.users (id, email, raw_app_meta_data) VALUES ($1, $2, $3)", [id, `faculty-${id.slice(0, 8)}@msm.edu`, JSON.stringify({ role: "faculty" })]);
  return { id, token: await issuer.tokens.valid({ id, email: `faculty-${id.slice(0, 8)}@msm.edu`, role: "faculty" }) };
}

interface Answer<T> {
  readonly status: number;
  readonly headers: Headers;
  readonly body: { data: T; error: { code: string } | null };
}

async function call<T = { id: string; status: string }>(base: string, user: User, method: string, route: string, body?: unknown): Promise<Answer<T>> {
  const response = await fetch(`${base}${route}`, {
    method,
    headers: { Authorization: `Bearer ${user.token}`, ...(body === undefined ? {} : { "Content-Type": "application/json" }) },
    body: body === undefined ? undefined : JSON.stringify(body),
    signal: AbortSignal.timeout(30_000),
  });
  return { status: response.status, headers: response.headers, body: (await response.json()) as Answer<T>["body"] };
}

async function createBatch(base: string, user: User, count: number, concurrency: number): Promise<string> {
  const created = await call(base, user, "POST", "/api/v1/generation/batch", { topic: "Cardiology", questionType: "single_best_answer", difficulty: "medium", count, concurrency });
  if (created.status !== 201) throw new Error(`create answered ${created.status}: ${JSON.stringify(created.body)}`);
  return created.body.data.id;
}

async function waitForEnd(batchId: string, timeoutMs = 120_000) {
  return waitFor(`batch ${batchId} to complete`, async () => {
    const row = await batchRow(pool, batchId);
    return ["completed", "completed_with_errors", "failed", "cancelled"].includes(row.status) ? row : undefined;
  }, timeoutMs, 100);
}

/** Step requests of the orchestrator function that the proxy handed to each API process. */
function generateStepsPerProcess(from = 0): number[] {
  const counts = cluster.apiUrls.map(() => 0);
  for (const request of cluster.proxy!.served.slice(from)) {
    if (request.path.startsWith("/api/inngest") && request.path.includes("batch-generate")) counts[request.upstream]! += 1;
  }
  return counts;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function waitForNoLiveOrchestrator(batchId: string) {
  await waitFor("the orchestrator run to end", async () => ((await liveOrchestratorRuns(pool, batchId)) === 0 ? true : undefined), 30_000);
}

/** The orchestrator has parked: nothing in flight, an open wait for batch.resume. */
async function waitUntilParked(batchId: string) {
  await waitFor("the orchestrator to park on its resume wait", async () => {
    const { rows } = await pool.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM engine.waits w JOIN engine.runs r ON r.id = w.run_id
       WHERE w.kind = 'event' AND w.resolved_at IS NULL AND r.status = 'running' AND r.event -> 'data' ->> 'batchId' = $1`,
      [batchId],
    );
    return rows[0]!.n === 1 && (await batchRow(pool, batchId)).generating_items === 0 ? true : undefined;
  });
}

describe("scale-out: two API processes on one database behind a round-robin proxy (real processes, the build)", () => {
  it("a batch created through process A is generated with steps served by both, each item once, one orchestrator run at a time", async () => {
    // With checkpointing the SDK runs a run's steps inside one request for up to 10 s; a run that
    // parks (pause) and wakes (resume) continues in a new request, which the proxy sends to the
    // next process. Pause through A and resume through B until both have served the batch's steps.
    const user = await createUser();
    const before = cluster.proxy!.served.length;
    const batchId = await createBatch(cluster.apiUrls[0]!, user, 100, 2);
    const sampler = sampleLiveOrchestratorRuns(pool, batchId);
    for (let pair = 0; pair < 10 && !generateStepsPerProcess(before).every((count) => count > 0); pair += 1) {
      const progress = (await batchRow(pool, batchId)).completed_items;
      await waitFor("progress", async () => ((await batchRow(pool, batchId)).completed_items > progress ? true : undefined));
      if ((await call(cluster.apiUrls[0]!, user, "POST", `/api/v1/generation/batch/${batchId}/pause`)).status !== 200) break;
      await waitUntilParked(batchId);
      expect((await call(cluster.apiUrls[1]!, user, "POST", `/api/v1/generation/batch/${batchId}/resume`)).status).toBe(200);
    }
    const done = await waitForEnd(batchId);
    expect(done.status).toBe("completed");
    const perProcess = generateStepsPerProcess(before);
    console.log(`batch-generate requests per API process: ${JSON.stringify(perProcess)}`);
    expect(perProcess.every((count) => count > 0)).toBe(true);
    expect(await itemsWithoutResult(pool, batchId)).toBe(0);
    expect(await itemsGeneratedMoreThanOnce(pool, batchId)).toEqual([]);
    await waitForNoLiveOrchestrator(batchId);
    expect(await sampler.stop()).toBe(1);
  }, 120_000);

  it("pause through A and resume through B, from 20 clients at once, serialize: the history is a valid path of the state machine and every 200 is in it; never two orchestrator runs", async () => {
    const user = await createUser();
    const batchId = await createBatch(cluster.url, user, 240, 4);
    const sampler = sampleLiveOrchestratorRuns(pool, batchId);
    await waitFor("progress", async () => ((await batchRow(pool, batchId)).completed_items >= 5 ? true : undefined));
    const accepted: { action: BatchControlAction; requestId: string }[] = [];
    const statuses: number[] = [];
    for (let round = 0; round < 2; round += 1) {
      await Promise.all(
        Array.from({ length: 10 }, async (_, client) => {
          const action: BatchControlAction = client % 2 === 0 ? "pause" : "resume";
          await sleep(Math.random() * 100);
          const base = action === "pause" ? cluster.apiUrls[0]! : cluster.apiUrls[1]!;
          const answer = await call(base, user, "POST", `/api/v1/generation/batch/${batchId}/${action}`);
          statuses.push(answer.status);
          if (answer.status === 200) accepted.push({ action, requestId: answer.headers.get("x-request-id")! });
        }),
      );
    }
    expect(statuses.every((status) => status === 200 || status === 409)).toBe(true);
    expect(accepted.length).toBeGreaterThan(0);
    // Left paused: one more resume (through B), which the history must show too.
    const finalResume = (await batchRow(pool, batchId)).status === "paused";
    if (finalResume) {
      const resumed = await call(cluster.apiUrls[1]!, user, "POST", `/api/v1/generation/batch/${batchId}/resume`);
      expect(resumed.status).toBe(200);
      accepted.push({ action: "resume", requestId: resumed.headers.get("x-request-id")! });
    }
    const done = await waitForEnd(batchId);
    expect(done.status).toBe("completed");

    const history = (await call<{ items: BatchStatusTransition[] }>(cluster.url, user, "GET", `/api/v1/generation/batch/${batchId}/history`)).body.data.items.reverse();
    const controls = history.filter((row) => row.actorId !== null);
    let status = "running";
    for (const row of controls) {
      expect(row.previousStatus).toBe(status);
      expect(VALID_STATUS_TRANSITIONS[row.previousStatus]).toContain(row.action);
      status = row.newStatus;
    }
    const recorded = new Set(controls.map((row) => `${row.action} ${row.requestId}`));
    for (const answer of accepted) expect(recorded.has(`${answer.action} ${answer.requestId}`)).toBe(true);
    expect(controls).toHaveLength(accepted.length);
    expect(await itemsWithoutResult(pool, batchId)).toBe(0);
    expect(await itemsGeneratedMoreThanOnce(pool, batchId)).toEqual([]);
    await waitForNoLiveOrchestrator(batchId);
    expect(await sampler.stop()).toBe(1);
  }, 180_000);

  it("a live stream opened on process B shows a pause made through process A", async () => {
    const user = await createUser();
    const batchId = await createBatch(cluster.url, user, 200, 2);
    let snapshotAt = 0;
    let pausedAt = 0;
    let pauseSentAt = 0;
    const stream = collectStream(`${cluster.apiUrls[1]!}/api/v1/generation/batch/${batchId}/stream`, user.token, (event) => {
      if (event.event === "snapshot" && snapshotAt === 0) snapshotAt = performance.now();
      const batch = event.data.batch as { status?: string } | undefined;
      if (event.event === "progress" && batch?.status === "paused") {
        pausedAt = performance.now();
        return true;
      }
      return false;
    }, 30_000);
    await waitFor("the stream's snapshot", () => Promise.resolve(snapshotAt > 0 ? true : undefined), 15_000);
    pauseSentAt = performance.now();
    expect((await call(cluster.apiUrls[0]!, user, "POST", `/api/v1/generation/batch/${batchId}/pause`)).status).toBe(200);
    const events = await stream;
    expect(events.some((event) => event.event === "progress" && (event.data.batch as { status: string }).status === "paused")).toBe(true);
    console.log(`pause through A seen on B's stream ${Math.round(pausedAt - pauseSentAt)} ms after the request was sent`);
    await call(cluster.apiUrls[0]!, user, "POST", `/api/v1/generation/batch/${batchId}/cancel`);
  }, 60_000);

  it("the per-user limits hold across both processes: creates, controls and open streams accepted within one window never exceed one limit", async () => {
    const user = await createUser();
    const creates = await Promise.all(Array.from({ length: 16 }, () => call(cluster.url, user, "POST", "/api/v1/generation/batch", { topic: "Renal", questionType: "single_best_answer", difficulty: "easy", count: 2, concurrency: 1 })));
    expect(creates.filter((answer) => answer.status === 201)).toHaveLength(LIMITS.createBurst);
    expect(creates.filter((answer) => answer.status === 429)).toHaveLength(16 - LIMITS.createBurst);
    for (const answer of creates.filter((each) => each.status === 429)) {
      expect(Number(answer.headers.get("retry-after"))).toBeGreaterThanOrEqual(1);
      expect(answer.body.error?.code).toBe("RATE_LIMITED");
    }

    const other = await createUser();
    const batchId = await createBatch(cluster.url, other, 100, 1);
    const controls = await Promise.all(Array.from({ length: LIMITS.controlBurst + 20 }, (_, index) => call(cluster.url, other, "POST", `/api/v1/generation/batch/${batchId}/${index % 2 === 0 ? "pause" : "resume"}`)));
    expect(controls.filter((answer) => answer.status !== 429)).toHaveLength(LIMITS.controlBurst);
    expect(controls.filter((answer) => answer.status === 429)).toHaveLength(20);

    const streams = await Promise.all(
      Array.from({ length: 8 }, async () => {
        const controller = new AbortController();
        const response = await fetch(`${cluster.url}/api/v1/generation/batch/${batchId}/stream`, { headers: { Authorization: `Bearer ${other.token}` }, signal: controller.signal });
        return { status: response.status, controller, response };
      }),
    );
    expect(streams.filter((stream) => stream.status === 200)).toHaveLength(LIMITS.streams);
    expect(streams.filter((stream) => stream.status === 429)).toHaveLength(8 - LIMITS.streams);
    for (const stream of streams) stream.controller.abort();
    // Closed streams free their slots in both processes.
    await waitFor("the slots to be freed", async () => ((await pool.query<{ n: number }>("SELECT count(*)::int AS n FROM live_stream_slots WHERE user_id = $1", [other.id])).rows[0]!.n === 0 ? true : undefined));
    await call(cluster.url, other, "POST", `/api/v1/generation/batch/${batchId}/cancel`);
  }, 120_000);

  it("SIGKILL of the API process serving the batch's step: the other carries it to completion; only items in flight in the killed process are generated twice; its stream slots stop counting", async () => {
    const user = await createUser();
    const batchId = await createBatch(cluster.url, user, 150, 5);
    const sampler = sampleLiveOrchestratorRuns(pool, batchId);
    // A stream held on each process: the killed one's slot must not be held forever.
    const held = cluster.apiUrls.map((base) => {
      const controller = new AbortController();
      const opened = fetch(`${base}/api/v1/generation/batch/${batchId}/stream`, { headers: { Authorization: `Bearer ${user.token}` }, signal: controller.signal });
      return { controller, opened };
    });
    for (const stream of held) expect((await stream.opened).status).toBe(200);
    const victim = await waitFor("a step of the batch in flight, after some progress", async () => {
      if ((await batchRow(pool, batchId)).completed_items < 10) return undefined;
      return cluster.proxy!.inFlight().find((request) => request.path.startsWith("/api/inngest") && request.path.includes("batch-generate"))?.upstream;
    }, 60_000, 20);
    await cluster.apis[victim]!.kill();
    const { rows: inFlight } = await pool.query<{ position: number }>("SELECT position FROM batch_items WHERE batch_id = $1 AND status = 'generating'", [batchId]);
    const killedAt = (await batchRow(pool, batchId)).completed_items;

    const done = await waitForEnd(batchId);
    expect(done.status).toBe("completed");
    expect(await itemsWithoutResult(pool, batchId)).toBe(0);
    const twice = await itemsGeneratedMoreThanOnce(pool, batchId);
    console.log(`killed api-${victim + 1} at ${killedAt} completed; in flight there: ${JSON.stringify(inFlight.map((row) => row.position))}; generated twice: ${JSON.stringify(twice)}`);
    const wasInFlight = new Set(inFlight.map((row) => row.position));
    for (const item of twice) expect(wasInFlight.has(item.position), `item ${item.position} was regenerated`).toBe(true);
    await waitForNoLiveOrchestrator(batchId);
    expect(await sampler.stop()).toBe(1);

    // The survivor's stream ended with the batch and freed its slot; the killed process could free
    // nothing, and its slot stops counting once its heartbeat is stale.
    await waitFor("the dead process's stream slot to go", async () => ((await pool.query<{ n: number }>("SELECT count(*)::int AS n FROM live_stream_slots WHERE user_id = $1", [user.id])).rows[0]!.n === 0 ? true : undefined), 30_000, 200);
    for (const stream of held) stream.controller.abort();
    await cluster.apis[victim]!.start();
  }, 240_000);
});
