import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import { findFreePort, REPO_ROOT } from "@batchgen/db";
import { prefixedSink, startChild, waitForHttp, type Child } from "./lib/children.ts";
import { startStack } from "./lib/stack.ts";

// Browser tests: the product started the way `pnpm dev --built` starts it, on
// free ports with a throwaway database, driven by Playwright in Chromium.
const chromium = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";
if (!existsSync(chromium)) {
  process.stderr.write(`Chromium not found at ${chromium}: install it with \`apt-get install -y chromium\` or set CHROMIUM_PATH.\n`);
  process.exit(1);
}

const verbose = process.env.E2E_VERBOSE === "1";
const sink = prefixedSink();
const quietSink: typeof sink = (name, line, stream) => {
  if (verbose || stream === "err" || name === "dev") sink(name, line, stream);
};

const dataDir = await mkdtemp(path.join(tmpdir(), "batchgen-e2e-"));
const ports = {
  db: await findFreePort(),
  auth: await findFreePort(),
  engine: await findFreePort(),
  api: await findFreePort(),
  web: await findFreePort(),
};

let code = 1;
const stack = await startStack({
  ports,
  dataDir,
  web: "built",
  webDistDir: ".next-e2e",
  sink: quietSink,
  apiEnv: { LOG_LEVEL: "warn" },
});

// A test may restart the API with other simulated-generator settings (failures, slow items) and
// back: POST E2E_CONTROL_URL/api-env {"env": {...}} stops the API gracefully and starts it again
// with its first env plus these values; {"env": {}} restores the first env. Only the browser
// tests use it; `pnpm dev` has no such endpoint.
const replacements: Child[] = [];
let apiChild = stack.children.find((child) => child.name === "api");
const firstApiPid = apiChild?.process.pid;
if (!apiChild || firstApiPid === undefined) throw new Error("the e2e stack has no API process");
const firstApiEnv: NodeJS.ProcessEnv = Object.fromEntries(
  (await readFile(`/proc/${firstApiPid}/environ`, "utf8"))
    .split("\0")
    .filter((entry) => entry.includes("="))
    .map((entry) => [entry.slice(0, entry.indexOf("=")), entry.slice(entry.indexOf("=") + 1)]),
);
const [apiCommand, ...apiArgs] = apiChild.process.spawnargs;
let restarts: Promise<void> = Promise.resolve();
function restartApi(overrides: Record<string, string>): Promise<void> {
  restarts = restarts.then(async () => {
    await apiChild?.stop();
    const next = startChild("api", apiCommand!, apiArgs, { env: { ...firstApiEnv, ...overrides }, sink: quietSink });
    replacements.push(next);
    apiChild = next;
    await waitForHttp(`${stack.urls.api}/health`, 60_000, next);
    sink("dev", `API restarted with ${JSON.stringify(overrides)}`, "out");
  });
  return restarts;
}
const control = createServer((request, response) => {
  if (request.method !== "POST" || request.url !== "/api-env") {
    response.writeHead(404).end();
    return;
  }
  let body = "";
  request.setEncoding("utf8");
  request.on("data", (chunk: string) => (body += chunk));
  request.on("end", () => {
    let overrides: Record<string, string>;
    try {
      const parsed = JSON.parse(body) as { env?: Record<string, unknown> };
      overrides = Object.fromEntries(Object.entries(parsed.env ?? {}).map(([key, value]) => [key, String(value)]));
    } catch {
      response.writeHead(400).end("body must be JSON: {\"env\": {...}}");
      return;
    }
    restartApi(overrides).then(
      () => response.writeHead(204).end(),
      (error: unknown) => response.writeHead(500).end(String(error)),
    );
  });
});
await new Promise<void>((resolve) => control.listen(0, "127.0.0.1", resolve));
const controlUrl = `http://127.0.0.1:${(control.address() as AddressInfo).port}`;

try {
  const playwright = spawn(
    path.join(REPO_ROOT, "node_modules", ".bin", "playwright"),
    ["test", ...process.argv.slice(2)],
    {
      cwd: REPO_ROOT,
      stdio: "inherit",
      env: {
        ...process.env,
        E2E_WEB_URL: stack.urls.web,
        E2E_API_URL: stack.urls.api,
        E2E_AUTH_URL: stack.urls.auth,
        E2E_ENGINE_URL: stack.urls.engine ?? "",
        E2E_DATABASE_URL: stack.urls.database,
        E2E_CONTROL_URL: controlUrl,
      },
    },
  );
  code = await new Promise<number>((resolve) => playwright.on("exit", (exit) => resolve(exit ?? 1)));
} finally {
  control.close();
  await restarts.catch(() => undefined);
  for (const child of replacements) await child.stop();
  await stack.stop();
  await rm(dataDir, { recursive: true, force: true });
}
process.exit(code);
