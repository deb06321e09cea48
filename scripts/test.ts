import { spawn } from "node:child_process";
import { mkdir, readFile, rm, writeFile } from "node:fs/promises";
import path from "node:path";
import { REPO_ROOT } from "@batchgen/db";

// `pnpm test`: lint, typecheck, every vitest project, the browser tests. Each
// step runs even if an earlier one failed, so one run shows everything; the
// last line is the total CI reads.
const RESULTS = path.join(REPO_ROOT, ".test-results");

interface Tally {
  passed: number;
  failed: number;
}

function run(command: string, args: readonly string[], env: NodeJS.ProcessEnv = {}): Promise<number> {
  return new Promise((resolve) => {
    const child = spawn(command, args, { cwd: REPO_ROOT, stdio: "inherit", env: { ...process.env, ...env } });
    child.on("exit", (code) => resolve(code ?? 1));
    child.on("error", () => resolve(1));
  });
}

async function readJson<T>(file: string): Promise<T | null> {
  try {
    return JSON.parse(await readFile(file, "utf8")) as T;
  } catch {
    return null;
  }
}

const bin = (name: string) => path.join(REPO_ROOT, "node_modules", ".bin", name);
// `pnpm test` runs lint, typecheck, unit and e2e; `pnpm test --long` adds the long fault runs;
// `pnpm test:long` runs only those. Naming steps runs just them: `pnpm test unit e2e`.
const args = process.argv.slice(2);
const withLong = args.includes("--long");
const only = args.filter((arg) => !arg.startsWith("--"));
const wants = (step: string) => (only.length === 0 ? step !== "long" || withLong : only.includes(step));

await rm(RESULTS, { recursive: true, force: true });
process.stdout.write(`running: ${["lint", "typecheck", "unit", "e2e", "long"].filter(wants).join(", ")}\n`);
await mkdir(RESULTS, { recursive: true });
const tally: Tally = { passed: 0, failed: 0 };
const lines: string[] = [];

async function check(name: string, command: string, args: readonly string[]) {
  const code = await run(command, args);
  if (code === 0) tally.passed += 1;
  else tally.failed += 1;
  lines.push(`${name}: ${code === 0 ? "clean" : "FAILED"}`);
}

if (wants("lint")) await check("lint", bin("eslint"), [".", "--max-warnings", "0"]);
if (wants("typecheck")) await check("typecheck", "pnpm", ["typecheck"]);

if (wants("unit")) {
  const file = path.join(RESULTS, "vitest.json");
  const code = await run(bin("vitest"), ["run", "--reporter=default", "--reporter=json", `--outputFile.json=${file}`]);
  const report = await readJson<{ numPassedTests: number; numFailedTests: number; numTotalTests: number }>(file);
  const passed = report?.numPassedTests ?? 0;
  // A crash before the report was written still counts as a failure.
  const failed = report ? report.numFailedTests + (code !== 0 && report.numFailedTests === 0 ? 1 : 0) : 1;
  tally.passed += passed;
  tally.failed += failed;
  lines.push(`vitest: ${passed} passed, ${failed} failed`);
}

if (wants("e2e")) {
  const file = path.join(RESULTS, "playwright.json");
  const code = await run(bin("tsx"), [path.join(REPO_ROOT, "scripts", "e2e.ts")]);
  const report = await readJson<{ stats: { expected: number; unexpected: number; flaky: number } }>(file);
  const passed = report ? report.stats.expected + report.stats.flaky : 0;
  const failed = report ? report.stats.unexpected + (code !== 0 && report.stats.unexpected === 0 ? 1 : 0) : 1;
  tally.passed += passed;
  tally.failed += failed;
  lines.push(`playwright: ${passed} passed, ${failed} failed`);
}

if (wants("long")) {
  // The fault scenarios again, with five SIGKILLs of each kind at random points of a 200-item batch.
  const file = path.join(RESULTS, "vitest-long.json");
  const kills = ["api", "engine", "both"].flatMap((kind) => Array<string>(5).fill(kind));
  const code = await run(
    bin("vitest"),
    ["run", "--project", "server", "test/fault/faults.test.ts", "--reporter=default", "--reporter=json", `--outputFile.json=${file}`],
    { FAULT_KILLS: kills.join(","), FAULT_ITEMS: "200" },
  );
  const report = await readJson<{ numPassedTests: number; numFailedTests: number }>(file);
  const passed = report?.numPassedTests ?? 0;
  const failed = report ? report.numFailedTests + (code !== 0 && report.numFailedTests === 0 ? 1 : 0) : 1;
  tally.passed += passed;
  tally.failed += failed;
  lines.push(`long faults: ${passed} passed, ${failed} failed`);
}

const summary = `${tally.passed} passed, ${tally.failed} failed`;
await writeFile(path.join(RESULTS, "summary.txt"), `${[...lines, summary].join("\n")}\n`);
process.stdout.write(`\n${lines.join("\n")}\n${summary}\n`);
process.exit(tally.failed === 0 ? 0 : 1);
