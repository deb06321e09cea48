import { spawn } from "node:child_process";
import path from "node:path";
import { REPO_ROOT } from "@batchgen/db";
import { runControlsBench } from "./controls/controls.bench.ts";
import { runLoadBench } from "./load/load.bench.ts";
import { runOrchestrationBench } from "./orchestration/orchestration.bench.ts";
import { runPeersBench } from "./peers/peers.bench.ts";
import { runPipelineBench } from "./pipeline/pipeline.bench.ts";
import { runProfileBench } from "./profile/profile.bench.ts";
import { machine, today, writeSection } from "./lib/report.ts";

// `pnpm bench`: every benchmark, one after the other (they would disturb each other in parallel),
// each rewriting its own section of docs/benchmarks.md.
const only = process.argv.slice(2);
const wants = (name: string) => only.length === 0 || only.includes(name);

await writeSection(
  "header",
  `# Benchmarks

Written by \`pnpm bench\` (last full run ${today()}, ${machine()}). Each section says how it was
measured; figures are medians and percentiles from one run, and ratios compare things measured side
by side in the same run, because this shared 2-core machine is noisy.`,
  { first: true },
);

if (wants("engine")) {
  const code = await new Promise<number>((resolve) => {
    const child = spawn(path.join(REPO_ROOT, "node_modules", ".bin", "tsx"), [path.join(REPO_ROOT, "bench", "engine", "engine.bench.ts")], {
      cwd: REPO_ROOT,
      stdio: "inherit",
    });
    child.on("exit", (exit) => resolve(exit ?? 1));
  });
  if (code !== 0) process.exitCode = 1;
}
if (wants("pipeline")) await runPipelineBench();
if (wants("controls")) await runControlsBench();
if (wants("orchestration")) await runOrchestrationBench();
if (wants("load")) await runLoadBench();
// Needs redis-server (Debian's; installed with apt when missing, as root).
if (wants("peers")) await runPeersBench();
if (wants("profile")) await runProfileBench();
