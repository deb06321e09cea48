import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { findFreePort, REPO_ROOT } from "@batchgen/db";
import { prefixedSink } from "./lib/children.ts";
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
      },
    },
  );
  code = await new Promise<number>((resolve) => playwright.on("exit", (exit) => resolve(exit ?? 1)));
} finally {
  await stack.stop();
  await rm(dataDir, { recursive: true, force: true });
}
process.exit(code);
