import { createTestDatabase, type TestDatabase } from "@batchgen/db/testing";
import { createPool, type Pool } from "@batchgen/db";
import { Inngest } from "inngest";
import { inject } from "vitest";
import { startEngine, type EngineHandle, type EngineOptions } from "../../src/index.ts";
import { createConformanceFunctions, Probe } from "./functions.ts";
import { serveFunctions, type ServedApp } from "./serve-app.ts";
import { stepPathOptions } from "./step-path.ts";

export interface RunView {
  id: string;
  run_id: string;
  event_id: string;
  function_id: string;
  status: string;
  output: unknown;
  error: { name: string; message: string } | null;
  steps: { id: string; name: string; op: string; memo: unknown; attempts: number }[];
  waits: { kind: string; resolution: string | null }[];
}

export interface Harness {
  readonly db: TestDatabase;
  readonly pool: Pool;
  readonly engine: EngineHandle;
  readonly client: Inngest.Any;
  readonly app: ServedApp;
  readonly probe: Probe;
  readonly logs: string[];
  send(name: string, data?: Record<string, unknown>): Promise<string>;
  runsFor(eventId: string): Promise<RunView[]>;
  runFor(eventId: string): Promise<RunView>;
  getRun(runId: string): Promise<RunView>;
  waitForRun(runId: string, until?: (run: RunView) => boolean, timeoutMs?: number): Promise<RunView>;
  close(): Promise<void>;
}

export async function eventually<T>(
  what: string,
  probe: () => Promise<T | undefined> | T | undefined,
  timeoutMs = 20_000,
  describe?: () => Promise<string> | string,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}${describe ? `\n${await describe()}` : ""}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

export async function fetchJson<T>(url: string, init?: RequestInit): Promise<T> {
  const response = await fetch(url, init);
  return (await response.json()) as T;
}

export async function startHarness(
  options: { engine?: Partial<EngineOptions>; cloud?: { signingKey: string; eventKey: string } } = {},
): Promise<Harness> {
  const db = await createTestDatabase(inject("pgAdminUrl"));
  const pool = createPool(db.url, { max: 2 });
  const logs: string[] = [];
  const engine = await startEngine({
    databaseUrl: db.url,
    backoffScale: 0.01,
    log: (line) => logs.push(`${new Date().toISOString()} ${line}`),
    signingKey: options.cloud?.signingKey,
    eventKey: options.cloud?.eventKey,
    ...stepPathOptions(),
    ...options.engine,
  });
  const client = new Inngest({
    id: "conformance",
    isDev: !options.cloud,
    baseUrl: engine.url,
    ...(options.cloud ? { signingKey: options.cloud.signingKey, eventKey: options.cloud.eventKey } : {}),
    logger: { info: () => undefined, warn: () => undefined, error: () => undefined, debug: () => undefined },
  });
  const probe = new Probe();
  const app = await serveFunctions(client, createConformanceFunctions(client, probe));
  const synced = await engine.syncApp(app.url);
  if (!synced.ok) throw new Error(`sync failed: ${synced.message}`);

  // In signed mode the inspection API wants the signing key as a bearer, as Inngest's REST API does.
  const auth = options.cloud ? { headers: { authorization: `Bearer ${options.cloud.signingKey}` } } : undefined;
  const getRun = (runId: string) => fetchJson<{ data: RunView }>(`${engine.url}/v1/runs/${runId}`, auth).then((body) => body.data);
  const runsFor = async (eventId: string) => {
    const list = await fetchJson<{ data: { id: string }[] }>(`${engine.url}/v1/events/${eventId}/runs`, auth);
    return Promise.all(list.data.map((run) => getRun(run.id)));
  };
  const history = async (runId?: string) => `${runId ? JSON.stringify(await getRun(runId), null, 1) : ""}\n${logs.slice(-40).join("\n")}`;
  const harness: Harness = {
    db,
    pool,
    engine,
    client,
    app,
    probe,
    logs,
    send: async (name, data = {}) => {
      const { ids } = await client.send({ name, data });
      return ids[0] ?? "";
    },
    runsFor,
    runFor: (eventId) =>
      eventually(
        `a run for event ${eventId}`,
        async () => (await runsFor(eventId))[0],
        10_000,
        () => history(),
      ),
    getRun,
    waitForRun: (runId, until = (run) => run.status !== "Running", timeoutMs = 20_000) =>
      eventually(
        `run ${runId}`,
        async () => {
          const run = await getRun(runId);
          return until(run) ? run : undefined;
        },
        timeoutMs,
        () => history(runId),
      ),
    close: async () => {
      await engine.close();
      await app.close();
      await pool.end();
      await db.drop();
    },
  };
  return harness;
}
