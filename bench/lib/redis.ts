import { execFileSync, spawn } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { findFreePort } from "@batchgen/db";

// A throwaway redis-server for the benchmarks, on 127.0.0.1 and a free port, stopped (by its own
// pid) and its folder removed after. Debian's redis-server; installed with apt when missing.

export interface BenchRedis {
  readonly port: number;
  readonly pid: number;
  stop(): Promise<void>;
}

function redisServerPath(): string {
  const find = () => {
    try {
      return execFileSync("sh", ["-c", "command -v redis-server"], { encoding: "utf8" }).trim();
    } catch {
      return "";
    }
  };
  let found = find();
  if (!found && process.getuid?.() === 0) {
    console.log("redis-server is missing: apt-get install -y redis-server");
    execFileSync("apt-get", ["install", "-y", "redis-server"], { stdio: "inherit" });
    found = find();
  }
  if (!found) throw new Error("pnpm bench needs redis-server (Debian: apt-get install -y redis-server)");
  return found;
}

export async function startRedis(): Promise<BenchRedis> {
  const binary = redisServerPath();
  const dir = await mkdtemp(path.join(tmpdir(), "batchgen-bench-redis-"));
  const port = await findFreePort();
  // As BullMQ asks for production: no eviction; append-only file fsynced every second (Redis's
  // own default for AOF), https://docs.bullmq.io/guide/going-to-production.
  const child = spawn(
    binary,
    ["--port", String(port), "--bind", "127.0.0.1", "--dir", dir, "--save", "", "--appendonly", "yes", "--appendfsync", "everysec", "--maxmemory-policy", "noeviction", "--daemonize", "no"],
    { stdio: ["ignore", "ignore", "inherit"] },
  );
  const exited = new Promise<void>((resolve) => child.on("exit", () => resolve()));
  const deadline = Date.now() + 10_000;
  for (;;) {
    try {
      execFileSync("redis-cli", ["-p", String(port), "ping"], { stdio: "ignore" });
      break;
    } catch {
      if (Date.now() > deadline) throw new Error("redis-server did not start");
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
  return {
    port,
    pid: child.pid!,
    async stop() {
      if (child.exitCode === null) {
        child.kill("SIGTERM");
        await exited;
      }
      await rm(dir, { recursive: true, force: true });
    },
  };
}
