import { spawn, type ChildProcess } from "node:child_process";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { createPool, findFreePort, type Pool } from "@batchgen/db";
import { createTestDatabase, type TestDatabase } from "@batchgen/db/testing";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { eventually } from "./support/harness.ts";
import { stepPathEnv } from "./support/step-path.ts";

const here = path.dirname(fileURLToPath(import.meta.url));
const engineDir = path.resolve(here, "..");

let db: TestDatabase;
let pool: Pool;
let workDir: string;
let execLog: string;
let enginePort: number;
let appPort: number;
let engine: ChildProcess | undefined;
let app: ChildProcess | undefined;
const output: string[] = [];

function spawnTs(file: string, env: Record<string, string>): ChildProcess {
  // node --import tsx runs the file in this one process, so kill -9 hits the real server.
  const child = spawn(process.execPath, ["--import", "tsx", file], {
    cwd: engineDir,
    env: { ...process.env, ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  const keep = (chunk: Buffer) => output.push(...chunk.toString().trim().split("\n"));
  child.stdout?.on("data", keep);
  child.stderr?.on("data", keep);
  return child;
}

async function killHard(child: ChildProcess | undefined): Promise<void> {
  if (!child || child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.once("exit", resolve));
  child.kill("SIGKILL");
  await exited;
}

const engineUrl = () => `http://127.0.0.1:${enginePort}`;
const appUrl = () => `http://127.0.0.1:${appPort}/api/inngest`;

async function startEngineProcess(): Promise<void> {
  engine = spawnTs("src/cli.ts", {
    DATABASE_URL: db.url,
    ENGINE_PORT: String(enginePort),
    ENGINE_APP_URL: appUrl(),
    ENGINE_BACKOFF_SCALE: "0.05",
    ...stepPathEnv(),
  });
  await eventually("the engine to answer /health", async () => {
    const ok = await fetch(`${engineUrl()}/health`).then(
      (response) => response.ok,
      () => false,
    );
    return ok ? true : undefined;
  });
}

async function startAppProcess(): Promise<void> {
  app = spawnTs("test/support/app-main.ts", { PORT: String(appPort), INNGEST_DEV: "1", INNGEST_BASE_URL: engineUrl(), EXEC_LOG: execLog });
  await eventually("the app to answer", async () => {
    const ok = await fetch(appUrl()).then(
      (response) => response.ok,
      () => false,
    );
    return ok ? true : undefined;
  });
}

async function send(name: string, data: Record<string, unknown>): Promise<string | undefined> {
  try {
    const response = await fetch(`${engineUrl()}/e/test`, { method: "POST", body: JSON.stringify([{ name, data }]) });
    const body = (await response.json()) as { ids?: string[] };
    return body.ids?.[0];
  } catch {
    return undefined;
  }
}

async function openWaitIds(): Promise<string[]> {
  const { rows } = await pool.query<{ id: string }>(
    `SELECT r.event->'data'->>'id' AS id FROM engine.waits w JOIN engine.runs r ON r.id = w.run_id
     WHERE w.kind = 'event' AND w.resolved_at IS NULL AND r.status = 'running'`,
  );
  return rows.map((row) => row.id);
}

async function runsByTriggerId(): Promise<Map<string, { id: string; status: string; output: unknown }>> {
  const { rows } = await pool.query<{ id: string; status: string; output: unknown; trigger: string }>(
    `SELECT id, status, output, event->'data'->>'id' AS trigger FROM engine.runs WHERE function_id = 'durable-app-durable'`,
  );
  return new Map(rows.map((row) => [row.trigger, row]));
}

const expectedOutput = (id: string, by: string) => ({
  a: `a:${id}`,
  parts: [`p1:${id}`, `p2:${id}`, `p3:${id}`],
  approvedBy: by,
  b: `b:${id}`,
  c: `c:${id}`,
});

/** Every step execution the app logged must have started before that step's result was committed. */
async function stepsRunAfterCommit(): Promise<string[]> {
  const executions = (await readFile(execLog, "utf8"))
    .trim()
    .split("\n")
    .map((line) => JSON.parse(line) as { runId: string; step: string; at: number });
  const { rows } = await pool.query<{ run_id: string; name: string; done: number }>(
    `SELECT run_id, name, extract(epoch FROM completed_at) * 1000 AS done FROM engine.steps WHERE memo IS NOT NULL`,
  );
  const committed = new Map(rows.map((row) => [`${row.run_id}/${row.name}`, Number(row.done)]));
  return executions
    .filter((entry) => {
      const done = committed.get(`${entry.runId}/${entry.step}`);
      return done !== undefined && entry.at > done;
    })
    .map((entry) => `${entry.runId}/${entry.step} ran at ${entry.at}, after its result was committed`);
}

beforeAll(async () => {
  db = await createTestDatabase(inject("pgAdminUrl"));
  pool = createPool(db.url, { max: 2 });
  workDir = await mkdtemp(path.join(tmpdir(), "engine-kill-"));
  execLog = path.join(workDir, "executions.jsonl");
  enginePort = await findFreePort();
  appPort = await findFreePort();
  await startAppProcess();
  await startEngineProcess();
  await eventually("the app to be synced", async () => {
    const { rows } = await pool.query(`SELECT 1 FROM engine.functions WHERE id = 'durable-app-durable'`).catch(() => ({ rows: [] }));
    return rows.length > 0 ? true : undefined;
  });
});

afterAll(async () => {
  await killHard(engine);
  await killHard(app);
  await pool?.end();
  await db?.drop();
  await rm(workDir, { recursive: true, force: true });
});

describe("kill -9", () => {
  it("of the app while runs wait: the resume is delivered once the app is back and every run completes", async () => {
    const ids = ["app-1", "app-2", "app-3"];
    for (const id of ids) await send("test/durable", { id });
    await eventually(
      "all three runs to wait",
      async () => ((await openWaitIds()).filter((id) => ids.includes(id)).length === 3 ? true : undefined),
      30_000,
    );
    await killHard(app);
    // Resumes land while the app is down: the engine keeps them and retries the unreachable app.
    for (const id of ids) await send("test/resume", { id, by: "while-app-down" });
    await new Promise((resolve) => setTimeout(resolve, 700));
    await startAppProcess();
    const runs = await eventually(
      "the runs to complete",
      async () => {
        const all = await runsByTriggerId();
        return ids.every((id) => all.get(id)?.status === "completed") ? all : undefined;
      },
      30_000,
      () => output.slice(-40).join("\n"),
    );
    for (const id of ids) expect(runs.get(id)?.output).toEqual(expectedOutput(id, "while-app-down"));
    expect(await stepsRunAfterCommit()).toEqual([]);
  }, 60_000);

  it("of the engine at random points mid-run and mid-wait: every run completes with the right output and no committed step runs again", async () => {
    const ids = Array.from({ length: 8 }, (_, index) => `eng-${index}`);
    // Resumes start after the third kill, so the first kills land mid-run or mid-wait, the later
    // ones while resumed runs sleep and run their last steps.
    let resuming = true;
    let resumesAllowed = false;
    const resumer = (async () => {
      while (resuming) {
        const open = resumesAllowed ? await openWaitIds().catch(() => []) : [];
        for (const id of open) if (ids.includes(id)) await send("test/resume", { id, by: "resumer" });
        await new Promise((resolve) => setTimeout(resolve, 150));
      }
    })();
    for (const id of ids) {
      await send("test/durable", { id });
      await new Promise((resolve) => setTimeout(resolve, 40));
    }
    for (let round = 0; round < 6; round += 1) {
      await new Promise((resolve) => setTimeout(resolve, 150 + Math.floor(Math.random() * 600)));
      await killHard(engine);
      await startEngineProcess();
      if (round === 2) resumesAllowed = true;
    }
    const runs = await eventually(
      "every run to complete",
      async () => {
        const all = await runsByTriggerId();
        return ids.every((id) => all.get(id)?.status === "completed") ? all : undefined;
      },
      45_000,
      async () => `${JSON.stringify([...(await runsByTriggerId()).values()].map((run) => run.status))}\n${output.slice(-40).join("\n")}`,
    );
    resuming = false;
    await resumer;
    console.log(output.filter((line) => /reclaimed/.test(line)).join("\n"));
    for (const id of ids) expect(runs.get(id)?.output).toEqual(expectedOutput(id, "resumer"));
    expect(await stepsRunAfterCommit()).toEqual([]);
    const { rows } = await pool.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM engine.runs WHERE function_id = 'durable-app-durable' AND status <> 'completed'`,
    );
    expect(rows[0]?.n).toBe(0);
  }, 90_000);
});
