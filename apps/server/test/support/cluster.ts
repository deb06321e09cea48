import { spawn } from "node:child_process";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { findFreePort } from "@batchgen/db";
import { ProductProcess } from "./processes.ts";
import { startRoundRobinProxy, type RoundRobinProxy } from "./round-robin-proxy.ts";

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../../..");

/** `pnpm --filter @batchgen/server build`: the API as plain JavaScript in apps/server/dist. */
export async function buildApi(): Promise<void> {
  const code = await new Promise<number>((resolve) => {
    const child = spawn(process.execPath, ["--import", "tsx", path.join(REPO, "apps/server/build.ts")], { cwd: REPO, stdio: ["ignore", "ignore", "inherit"] });
    child.on("exit", (exit) => resolve(exit ?? 1));
  });
  if (code !== 0) throw new Error(`the API build failed (exit ${code})`);
}

export interface Cluster {
  readonly engine: ProductProcess;
  readonly apis: readonly ProductProcess[];
  readonly apiUrls: readonly string[];
  /** Where clients and the engine go: the proxy, or the only API when there is no proxy. */
  readonly url: string;
  readonly engineUrl: string;
  readonly proxy: RoundRobinProxy | undefined;
  close(): Promise<void>;
}

/**
 * The engine and `apis` API processes on one database, the APIs run from the build
 * (`node dist/index.js`, no tsx), and with `proxy` a round-robin proxy in front that the engine and
 * the clients both use. Call buildApi() first.
 */
export async function startCluster(options: {
  databaseUrl: string;
  supabaseUrl: string;
  apis: number;
  proxy: boolean;
  apiEnv?: NodeJS.ProcessEnv;
  engineEnv?: NodeJS.ProcessEnv;
}): Promise<Cluster> {
  const enginePort = await findFreePort();
  const engineUrl = `http://127.0.0.1:${enginePort}`;
  const apiUrls: string[] = [];
  const apis: ProductProcess[] = [];
  for (let index = 0; index < options.apis; index += 1) {
    const port = await findFreePort();
    const url = `http://127.0.0.1:${port}`;
    apiUrls.push(url);
    apis.push(
      new ProductProcess(
        `api-${index + 1}`,
        "apps/server/dist/index.js",
        {
          NODE_ENV: "test",
          DATABASE_URL: options.databaseUrl,
          PORT: String(port),
          SUPABASE_URL: options.supabaseUrl,
          INNGEST_DEV: "1",
          INNGEST_BASE_URL: engineUrl,
          LOG_LEVEL: "warn",
          ...options.apiEnv,
        },
        `${url}/health`,
        ["--enable-source-maps"],
      ),
    );
  }
  await Promise.all(apis.map((api) => api.start()));
  const proxy = options.proxy ? await startRoundRobinProxy(apiUrls) : undefined;
  const url = proxy?.url ?? apiUrls[0]!;
  const engine = new ProductProcess(
    "engine",
    "apps/engine/src/cli.ts",
    { DATABASE_URL: options.databaseUrl, ENGINE_PORT: String(enginePort), ENGINE_APP_URL: `${url}/api/inngest`, ENGINE_BACKOFF_SCALE: "0.05", ...options.engineEnv },
    `${engineUrl}/health`,
  );
  await engine.start();
  return {
    engine,
    apis,
    apiUrls,
    url,
    engineUrl,
    proxy,
    async close() {
      await engine.stop();
      await Promise.all(apis.map((api) => api.stop()));
      await proxy?.close();
    },
  };
}
