import { randomUUID } from "node:crypto";
import type { Server } from "node:http";
import type { AddressInfo } from "node:net";
import { createPool, findFreePort, type Pool } from "@batchgen/db";
import { createTestDatabase, type TestDatabase } from "@batchgen/db/testing";
import { startEngine, type EngineHandle } from "@batchgen/engine";
import type { AppRole } from "@batchgen/types";
import { pino } from "pino";
import { inject } from "vitest";
import { createApp } from "../../src/app.ts";
import { createTokenVerifier } from "../../src/auth/token-verifier.ts";
import { createPipeline, DEFAULT_PIPELINE_SETTINGS, type Pipeline, type PipelineSettings } from "../../src/container.ts";
import { SimulatedGenerator, type ItemGenerator, type SimulatedGeneratorOptions } from "../../src/generators/index.ts";
import { createInngestClient } from "../../src/inngest/client.ts";
import { createTestSigner, supabaseClaims, TEST_SUPABASE_URL, type TestSigner } from "./keys.ts";

export interface TestUser {
  readonly sub: string;
  readonly email: string;
  readonly role: AppRole;
  readonly token: string;
}

export interface PipelineHarness {
  readonly apiUrl: string;
  readonly pool: Pool;
  readonly db: TestDatabase;
  readonly engine: EngineHandle;
  readonly pipeline: Pipeline;
  readonly signer: TestSigner;
  createUser(role?: AppRole, email?: string): Promise<TestUser>;
  api<T = unknown>(user: TestUser | null, method: string, path: string, body?: unknown, headers?: Record<string, string>): Promise<{ status: number; body: { data: T; error: { code: string; message: string; details?: Record<string, unknown> } | null } }>;
  close(): Promise<void>;
}

export interface HarnessOptions {
  readonly simulated?: SimulatedGeneratorOptions;
  /** Another generator than the simulated one (for example the OpenAI one against a fake server). */
  readonly generator?: ItemGenerator;
  readonly settings?: Partial<PipelineSettings>;
  readonly engineLog?: boolean;
}

/**
 * The real thing on one machine: a fresh database, the API with the pipeline
 * on a free port, and the engine syncing its functions over HTTP.
 */
export async function startPipelineHarness(options: HarnessOptions = {}): Promise<PipelineHarness> {
  const db = await createTestDatabase(inject("pgAdminUrl"));
  const pool = createPool(db.url, { max: 10 });
  const signer = await createTestSigner();
  const logger = pino({ level: process.env.TEST_LOG_LEVEL ?? "silent" });

  // The app must be fully mounted before the engine starts syncing it, and its
  // Inngest client must know the engine's URL: so fix the engine's port first.
  const enginePort = await findFreePort();
  const engineUrl = `http://127.0.0.1:${enginePort}`;
  const generator = new SimulatedGenerator({
    latencyMedianMs: 50,
    latencyJitter: 0.2,
    transientFailureRate: 0,
    permanentFailureRate: 0,
    ...options.simulated,
  });
  const settings: PipelineSettings = {
    ...DEFAULT_PIPELINE_SETTINGS,
    runner: { ...DEFAULT_PIPELINE_SETTINGS.runner, retryBaseMs: 20, chunkBudgetMs: 5_000 },
    // The defaults: a paused run waits a day, so only the resume watchdog can cover a lost wakeup.
    generate: DEFAULT_PIPELINE_SETTINGS.generate,
    outbox: { ...DEFAULT_PIPELINE_SETTINGS.outbox, pollIntervalMs: 200 },
    supervisor: { ...DEFAULT_PIPELINE_SETTINGS.supervisor, tickMs: 200, resumeWatchdogMs: 1_000, sweepIntervalMs: 500 },
    streamHeartbeatMs: 1_000,
    // Tests drive many requests as one user; limits.test.ts sets small ones to test them.
    limits: { create: { burst: 10_000, perMinute: 10_000 }, control: { burst: 10_000, perMinute: 10_000 }, streamsPerUser: 100 },
    ...options.settings,
  };
  const pipeline = createPipeline({
    pool,
    databaseUrl: db.url,
    logger,
    inngest: createInngestClient({ baseUrl: engineUrl, isDev: true }),
    settings,
    generatorFor: () => options.generator ?? generator,
  });
  await pipeline.start();
  const app = createApp({
    pool,
    logger,
    pipeline,
    verifyToken: createTokenVerifier({ supabaseUrl: TEST_SUPABASE_URL, keyResolver: signer.keyResolver }),
    logRequests: false,
  });
  const server: Server = await new Promise((resolve) => {
    const listening = app.listen(0, "127.0.0.1", () => resolve(listening));
  });
  const apiUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  const engine = await startEngine({
    databaseUrl: db.url,
    port: enginePort,
    appUrls: [`${apiUrl}/api/inngest`],
    backoffScale: 0.02,
    pollMs: 200,
    log: options.engineLog ? (line) => console.log(`[engine] ${line}`) : () => undefined,
  });
  const outcomes = await engine.synced;
  if (outcomes.some((outcome) => !outcome.ok)) throw new Error(`engine could not sync the app: ${JSON.stringify(outcomes)}`);

  return {
    apiUrl,
    pool,
    db,
    engine,
    pipeline,
    signer,
    async createUser(role = "faculty", email) {
      const sub = randomUUID();
      const address = email ?? `${role}-${sub.slice(0, 8)}@msm.edu`;
      await pool.query(
        "INSERT INTO auth.users (id, email, raw_app_meta_data) VALUES ($1, $2, $3)",
        [sub, address, JSON.stringify({ role })],
      );
      const token = await signer.sign(supabaseClaims({ sub, email: address, role }));
      return { sub, email: address, role, token };
    },
    async api(user, method, path, body, headers = {}) {
      const response = await fetch(`${apiUrl}${path}`, {
        method,
        headers: {
          ...(user ? { Authorization: `Bearer ${user.token}` } : {}),
          ...(body === undefined ? {} : { "Content-Type": "application/json" }),
          ...headers,
        },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
      return { status: response.status, body: (await response.json()) as never };
    },
    async close() {
      await engine.close();
      await pipeline.stop();
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
      await pool.end();
      await db.drop();
    },
  };
}

/** Polls until `check` returns a value (not undefined), or fails with what it last saw. */
export async function waitFor<T>(what: string, check: () => Promise<T | undefined>, timeoutMs = 30_000, everyMs = 50): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, everyMs));
  }
}

export async function batchRow(pool: Pool, batchId: string) {
  const { rows } = await pool.query<{
    status: string;
    completed_items: number;
    failed_items: number;
    cancelled_items: number;
    generating_items: number;
    finished_at: Date | null;
  }>("SELECT status, completed_items, failed_items, cancelled_items, generating_items, finished_at FROM batch_jobs WHERE id = $1", [batchId]);
  return rows[0]!;
}

export async function waitForStatus(pool: Pool, batchId: string, statuses: readonly string[], timeoutMs = 60_000) {
  return waitFor(`batch ${batchId} to be ${statuses.join(" or ")}`, async () => {
    const row = await batchRow(pool, batchId);
    return statuses.includes(row.status) && row.generating_items === 0 ? row : undefined;
  }, timeoutMs);
}

export interface SseEvent {
  readonly event: string;
  readonly data: Record<string, unknown>;
}

/** Reads a server-sent event stream with fetch (as the browser does, to send the Bearer header). */
export async function collectStream(url: string, token: string, until: (event: SseEvent) => boolean, timeoutMs = 60_000): Promise<SseEvent[]> {
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), timeoutMs);
  const events: SseEvent[] = [];
  try {
    const response = await fetch(url, { headers: { Authorization: `Bearer ${token}` }, signal: controller.signal });
    if (!response.ok || !response.body) throw new Error(`stream answered ${response.status}`);
    const decoder = new TextDecoder();
    let buffer = "";
    for await (const chunk of response.body as unknown as AsyncIterable<Uint8Array>) {
      buffer += decoder.decode(chunk, { stream: true });
      let split: number;
      while ((split = buffer.indexOf("\n\n")) >= 0) {
        const block = buffer.slice(0, split);
        buffer = buffer.slice(split + 2);
        const eventLine = block.split("\n").find((line) => line.startsWith("event: "));
        const dataLine = block.split("\n").find((line) => line.startsWith("data: "));
        if (!eventLine || !dataLine) continue;
        const event = { event: eventLine.slice(7), data: JSON.parse(dataLine.slice(6)) as Record<string, unknown> };
        events.push(event);
        if (until(event)) {
          controller.abort();
          return events;
        }
      }
    }
    return events;
  } catch (error) {
    if (controller.signal.aborted) return events;
    throw error;
  } finally {
    clearTimeout(timer);
  }
}
