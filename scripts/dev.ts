import path from "node:path";
import { existsSync } from "node:fs";
import { mkdir } from "node:fs/promises";
import { DEFAULT_DATA_DIR, REPO_ROOT } from "@batchgen/db";
import { prefixedSink } from "./lib/children.ts";
import { DEFAULT_PORTS, startStack, type Stack } from "./lib/stack.ts";

// `pnpm dev`: the whole product on its embedded defaults. `pnpm dev --built`
// serves the production build of the web app instead of next dev.
const envFile = path.join(REPO_ROOT, ".env");
// process.loadEnvFile exists from Node 20.12; older 20.x simply skips .env.
if (existsSync(envFile) && typeof process.loadEnvFile === "function") process.loadEnvFile(envFile);

const sink = prefixedSink();
const say = (line: string) => sink("dev", line, "out");
const built = process.argv.includes("--built");

let stack: Stack | undefined;
let stopping: Promise<void> | undefined;

/** Stops everything once; every caller (a signal, a child that died) waits for the same stop. */
async function shutdown(code: number): Promise<never> {
  stopping ??= (async () => {
    say("stopping everything…");
    await stack?.stop();
    say("stopped; data kept in .data/ for the next pnpm dev");
  })();
  await stopping;
  process.exit(code);
}

// Children run in their own process groups (so a Ctrl-C reaches this script first and it can stop
// them in order); closing the terminal sends SIGHUP, which must stop them too.
for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"] as const) process.on(signal, () => void shutdown(0));

try {
  await mkdir(DEFAULT_DATA_DIR, { recursive: true });
  stack = await startStack({
    ports: DEFAULT_PORTS,
    databaseUrl: process.env.DATABASE_URL || undefined,
    dataDir: DEFAULT_DATA_DIR,
    web: built ? "built" : "dev",
    sink,
  });
  const { DEMO_USERS } = await import("@batchgen/auth");
  const lines = [
    "",
    "  Question batches is running.",
    "",
    `  Open     ${stack.urls.web}`,
    `  API      ${stack.urls.api}   (health: ${stack.urls.api}/health)`,
    `  Auth     ${stack.urls.auth}/auth/v1`,
    ...(stack.urls.engine ? [`  Engine   ${stack.urls.engine}   (runs: ${stack.urls.engine}/v1/runs)`] : []),
    "",
    "  Sign in with one of the demo accounts:",
    ...DEMO_USERS.map((user) => `    ${user.email.padEnd(20)} ${user.password.padEnd(18)} (${user.role})`),
    "",
    "  Ctrl-C stops everything; your data stays in .data/.",
    "",
  ];
  for (const line of lines) say(line);
  // If any child dies, the product is broken: say so and stop the rest.
  await Promise.race(
    stack.children.map(async (child) => {
      const code = await child.exited;
      if (!stopping) say(`${child.name} exited (${code}); stopping the rest`);
    }),
  );
  await shutdown(1);
} catch (error) {
  say(`could not start: ${error instanceof Error ? error.message : String(error)}`);
  await shutdown(1);
}
