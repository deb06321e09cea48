import { spawn } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { findFreePort } from "@batchgen/db";
import { DEMO_USERS } from "../src/index.ts";
import { openTestDb } from "./support.ts";
import type { TestDb } from "./support.ts";

const packageDir = path.resolve(
  path.dirname(fileURLToPath(import.meta.url)),
  "..",
);

let db: TestDb;
let keyDir: string;

beforeAll(async () => {
  db = await openTestDb();
  keyDir = await mkdtemp(path.join(tmpdir(), "batchgen-auth-cli-"));
});

afterAll(async () => {
  await rm(keyDir, { recursive: true, force: true });
  await db?.dispose();
});

interface Run {
  readonly output: () => string;
  readonly exited: Promise<number | null>;
  kill(signal: NodeJS.Signals): void;
  waitFor(text: string, timeoutMs?: number): Promise<void>;
}

function runCli(env: Record<string, string>): Run {
  // `node --import tsx` rather than the tsx binary: one process, so the signal
  // reaches our handlers directly and the exit code is the CLI's own.
  const child = spawn(process.execPath, ["--import", "tsx", "src/cli.ts"], {
    cwd: packageDir,
    env: { ...process.env, NODE_ENV: "development", ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let output = "";
  child.stdout.on("data", (chunk: Buffer) => (output += chunk.toString()));
  child.stderr.on("data", (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<number | null>((resolve) =>
    child.on("exit", (code) => resolve(code)),
  );
  return {
    output: () => output,
    exited,
    kill: (signal) => child.kill(signal),
    waitFor: async (text, timeoutMs = 20_000) => {
      const deadline = Date.now() + timeoutMs;
      while (!output.includes(text)) {
        if (Date.now() > deadline || child.exitCode !== null) {
          throw new Error(`"${text}" never appeared; output:\n${output}`);
        }
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    },
  };
}

describe("src/cli.ts", () => {
  it("seeds, prints the demo logins, serves on AUTH_PORT and stops on SIGTERM", async () => {
    const port = await findFreePort();
    const run = runCli({
      DATABASE_URL: db.database.url,
      AUTH_PORT: String(port),
      SUPABASE_URL: `http://127.0.0.1:${port}`,
      AUTH_KEY_DIR: keyDir,
    });
    try {
      await run.waitFor("Supabase Auth stand-in on");
      for (const user of DEMO_USERS) {
        expect(run.output()).toContain(`${user.email} / ${user.password}`);
      }
      const demo = DEMO_USERS[0]!;
      const response = await fetch(
        `http://127.0.0.1:${port}/auth/v1/token?grant_type=password`,
        {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify({ email: demo.email, password: demo.password }),
        },
      );
      expect(response.status).toBe(200);
    } finally {
      run.kill("SIGTERM");
    }
    expect(await run.exited).toBe(0);
  });

  it("refuses NODE_ENV=production with a clear message and exit code 1", async () => {
    const run = runCli({
      NODE_ENV: "production",
      DATABASE_URL: db.database.url,
      AUTH_KEY_DIR: keyDir,
    });
    expect(await run.exited).toBe(1);
    expect(run.output()).toMatch(/refuses to run with NODE_ENV=production/);
  });

  it("reports a malformed variable in one line and exits 1", async () => {
    const run = runCli({
      DATABASE_URL: db.database.url,
      AUTH_PORT: "not-a-port",
      AUTH_KEY_DIR: keyDir,
    });
    expect(await run.exited).toBe(1);
    expect(run.output()).toMatch(/invalid environment: AUTH_PORT/);
  });

  it("reports a port already in use", async () => {
    const port = await findFreePort();
    const first = runCli({
      DATABASE_URL: db.database.url,
      AUTH_PORT: String(port),
      AUTH_KEY_DIR: keyDir,
      AUTH_SEED_DEMO_USERS: "false",
    });
    try {
      await first.waitFor("Supabase Auth stand-in on");
      const second = runCli({
        DATABASE_URL: db.database.url,
        AUTH_PORT: String(port),
        AUTH_KEY_DIR: keyDir,
        AUTH_SEED_DEMO_USERS: "false",
      });
      expect(await second.exited).toBe(1);
      expect(second.output()).toMatch(/already in use/);
    } finally {
      first.kill("SIGTERM");
      await first.exited;
    }
  });
});
