import { mkdtemp, readdir, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { createPool, findFreePort, type Pool } from "@batchgen/db";
import { prefixedSink, startChild, waitForHttp, type Child } from "../../scripts/lib/children.ts";
import { startStack, type Stack } from "../../scripts/lib/stack.ts";

export interface BenchStack {
  readonly stack: Stack;
  readonly pool: Pool;
  readonly token: string;
  api<T = unknown>(method: string, route: string, body?: unknown, headers?: Record<string, string>): Promise<{ status: number; ms: number; body: { data: T; error: unknown } }>;
  /** Peak resident memory (VmHWM) of the API's node process, in MB. */
  apiPeakRssMb(): Promise<number>;
  /** The pid of the API's child process (tsx, whose child runs the API), and the engine's. */
  pids(): { api: number; engine: number };
  /** SIGKILL the API's process group, then start it again with the same command and env. */
  killAndRestartApi(): Promise<void>;
  close(): Promise<void>;
}

const quiet = (() => {
  const sink = prefixedSink();
  return (name: string, line: string, stream: "out" | "err") => {
    if (name === "dev" || (stream === "err" && !/ExperimentalWarning|DeprecationWarning/.test(line))) sink(name, line, stream);
  };
})();

async function descendants(pid: number): Promise<number[]> {
  const all: { pid: number; ppid: number }[] = [];
  for (const entry of await readdir("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = await readFile(`/proc/${entry}/stat`, "utf8");
      const ppid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
      all.push({ pid: Number(entry), ppid });
    } catch {
      // gone
    }
  }
  const out: number[] = [];
  const walk = (parent: number) => {
    for (const child of all.filter((row) => row.ppid === parent)) {
      out.push(child.pid);
      walk(child.pid);
    }
  };
  walk(pid);
  return out;
}

export interface BenchStackOptions {
  /** Use this database (e.g. one cluster shared with the peers) instead of a throwaway embedded one. */
  readonly databaseUrl?: string;
  /**
   * Opt-in: profile the stack's Node processes. Node 20 refuses `--cpu-prof` in NODE_OPTIONS, so
   * `bench/lib/cpu-profile-preload.mjs` is preloaded (`--import`) and runs the same V8 sampling
   * profiler between two SIGUSR2s, writing `<dir>/<pid>.cpuprofile`. `pnpm dev` is untouched.
   */
  readonly cpuProfileDir?: string;
}

/** The product as `pnpm dev` runs it (no web app), on free ports with a throwaway database. */
export async function startBenchStack(apiEnv: NodeJS.ProcessEnv, options: BenchStackOptions = {}): Promise<BenchStack> {
  const dataDir = await mkdtemp(path.join(tmpdir(), "batchgen-bench-"));
  const ports = { db: await findFreePort(), auth: await findFreePort(), engine: await findFreePort(), api: await findFreePort(), web: await findFreePort() };
  const savedNodeOptions = process.env.NODE_OPTIONS;
  // startStack copies process.env for its children when it spawns them.
  if (options.cpuProfileDir) {
    const preload = path.join(path.dirname(fileURLToPath(import.meta.url)), "cpu-profile-preload.mjs");
    process.env.NODE_OPTIONS = [savedNodeOptions, `--import=${preload}`].filter(Boolean).join(" ");
    process.env.BENCH_CPU_PROFILE_DIR = options.cpuProfileDir;
  }
  let stack: Stack;
  try {
    stack = await startStack({
      ports,
      dataDir,
      web: "none",
      sink: quiet,
      ...(options.databaseUrl ? { databaseUrl: options.databaseUrl } : {}),
      apiEnv: { LOG_LEVEL: "warn", LOG_FORMAT: "json", ...apiEnv },
    });
  } finally {
    if (savedNodeOptions === undefined) delete process.env.NODE_OPTIONS;
    else process.env.NODE_OPTIONS = savedNodeOptions;
    delete process.env.BENCH_CPU_PROFILE_DIR;
  }
  const pool = createPool(stack.urls.database, { max: 4 });
  const signIn = await fetch(`${stack.urls.auth}/auth/v1/token?grant_type=password`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ email: "dr.jones@msm.edu", password: "jones-demo-pass" }),
  });
  const token = ((await signIn.json()) as { access_token: string }).access_token;
  let apiChild: Child | undefined = stack.children.find((child) => child.name === "api");
  const engineChild = stack.children.find((child) => child.name === "engine");
  const replacements: Child[] = [];
  return {
    stack,
    pool,
    token,
    async api(method, route, body, headers = {}) {
      const started = performance.now();
      const response = await fetch(`${stack.urls.api}${route}`, {
        method,
        headers: { Authorization: `Bearer ${token}`, ...(body === undefined ? {} : { "content-type": "application/json" }), ...headers },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
      const parsed = (await response.json()) as { data: never; error: unknown };
      return { status: response.status, ms: performance.now() - started, body: parsed };
    },
    async apiPeakRssMb() {
      const pids = apiChild?.process.pid ? [apiChild.process.pid, ...(await descendants(apiChild.process.pid))] : [];
      let peak = 0;
      for (const pid of pids) {
        try {
          const status = await readFile(`/proc/${pid}/status`, "utf8");
          const kb = Number(/VmHWM:\s+(\d+)/.exec(status)?.[1] ?? 0);
          peak = Math.max(peak, kb / 1024);
        } catch {
          // gone
        }
      }
      return peak;
    },
    pids() {
      return { api: apiChild?.process.pid ?? 0, engine: engineChild?.process.pid ?? 0 };
    },
    async killAndRestartApi() {
      const old = apiChild;
      const pid = old?.process.pid;
      if (!old || !pid) throw new Error("no API process");
      const env = Object.fromEntries(
        (await readFile(`/proc/${pid}/environ`, "utf8"))
          .split("\0")
          .filter((entry) => entry.includes("="))
          .map((entry) => [entry.slice(0, entry.indexOf("=")), entry.slice(entry.indexOf("=") + 1)]),
      );
      process.kill(-pid, "SIGKILL");
      await old.exited;
      const [command, ...args] = old.process.spawnargs;
      const next = startChild("api", command!, args, { env, sink: quiet });
      replacements.push(next);
      apiChild = next;
      await waitForHttp(`${stack.urls.api}/health`, 60_000, next);
    },
    async close() {
      await pool.end();
      for (const child of replacements) await child.stop();
      await stack.stop();
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}

export async function waitUntil<T>(check: () => Promise<T | undefined>, timeoutMs: number, everyMs = 100): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error("timed out");
    await new Promise((resolve) => setTimeout(resolve, everyMs));
  }
}
