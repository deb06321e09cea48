import { spawn, type ChildProcess } from "node:child_process";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { findFreePort } from "@batchgen/db";

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../../..");

/** How `pnpm dev` runs a TypeScript entry; a built entry (dist/*.js) runs with plain node. */
const TSX_ARGS: readonly string[] = ["--import", "tsx"];

/** A product process (API or engine) run exactly as `pnpm dev` runs it (or as built, with node alone), so it can be SIGKILLed. */
export class ProductProcess {
  private child: ChildProcess | undefined;
  private output: string[] = [];

  constructor(
    readonly name: string,
    private readonly entry: string,
    private readonly env: NodeJS.ProcessEnv,
    private readonly readyUrl: string,
    private readonly nodeArgs: readonly string[] = TSX_ARGS,
  ) {}

  async start(timeoutMs = 60_000): Promise<void> {
    this.output = [];
    const child = spawn(process.execPath, [...this.nodeArgs, path.join(REPO, this.entry)], {
      cwd: REPO,
      env: { ...process.env, NODE_ENV: "test", ...this.env },
      stdio: ["ignore", "pipe", "pipe"],
    });
    this.child = child;
    const collect = (chunk: Buffer) => {
      this.output.push(chunk.toString());
      if (this.output.length > 400) this.output.shift();
    };
    child.stdout?.on("data", collect);
    child.stderr?.on("data", collect);
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      if (child.exitCode !== null) throw new Error(`${this.name} exited early:\n${this.logs()}`);
      try {
        const response = await fetch(this.readyUrl, { signal: AbortSignal.timeout(1_000) });
        if (response.ok) return;
      } catch {
        // not yet
      }
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    throw new Error(`${this.name} did not become ready:\n${this.logs()}`);
  }

  /** kill -9: no shutdown code runs. */
  async kill(): Promise<void> {
    const child = this.child;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((resolve) => child.once("exit", resolve));
    child.kill("SIGKILL");
    await exited;
  }

  async stop(): Promise<void> {
    const child = this.child;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((resolve) => child.once("exit", resolve));
    child.kill("SIGTERM");
    const timer = setTimeout(() => child.kill("SIGKILL"), 10_000);
    await exited;
    clearTimeout(timer);
  }

  /** The running process's id (undefined before start). */
  get pid(): number | undefined {
    return this.child?.pid;
  }

  /** The last exit code (null while running or if it died from a signal). */
  get exitCode(): number | null {
    return this.child?.exitCode ?? null;
  }

  logs(): string {
    return this.output.join("");
  }
}

export interface ProductProcesses {
  readonly api: ProductProcess;
  readonly engine: ProductProcess;
  readonly apiUrl: string;
  readonly engineUrl: string;
}

/** The API and the engine as separate processes on free ports, wired to each other and one database. */
export async function productProcesses(options: { databaseUrl: string; supabaseUrl: string; apiEnv?: NodeJS.ProcessEnv }): Promise<ProductProcesses> {
  const apiPort = await findFreePort();
  const enginePort = await findFreePort();
  const apiUrl = `http://127.0.0.1:${apiPort}`;
  const engineUrl = `http://127.0.0.1:${enginePort}`;
  const api = new ProductProcess(
    "api",
    "apps/server/src/index.ts",
    {
      DATABASE_URL: options.databaseUrl,
      PORT: String(apiPort),
      SUPABASE_URL: options.supabaseUrl,
      INNGEST_DEV: "1",
      INNGEST_BASE_URL: engineUrl,
      LOG_LEVEL: "warn",
      ...options.apiEnv,
    },
    `${apiUrl}/health`,
  );
  const engine = new ProductProcess(
    "engine",
    "apps/engine/src/cli.ts",
    { DATABASE_URL: options.databaseUrl, ENGINE_PORT: String(enginePort), ENGINE_APP_URL: `${apiUrl}/api/inngest`, ENGINE_BACKOFF_SCALE: "0.05" },
    `${engineUrl}/health`,
  );
  return { api, engine, apiUrl, engineUrl };
}
