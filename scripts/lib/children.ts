import { spawn, type ChildProcess } from "node:child_process";
import { createInterface } from "node:readline";

const COLORS = [36, 35, 33, 32, 34, 31, 96, 95];
let colorIndex = 0;

export interface Child {
  readonly name: string;
  readonly process: ChildProcess;
  /** Resolves with the exit code (or signal) when the child ends. */
  readonly exited: Promise<number | string>;
  stop(signal?: NodeJS.Signals, timeoutMs?: number): Promise<void>;
}

export type LineSink = (name: string, line: string, stream: "out" | "err") => void;

export function prefixedSink(width = 7): LineSink {
  const colorFor = new Map<string, number>();
  return (name, line) => {
    let color = colorFor.get(name);
    if (color === undefined) {
      color = COLORS[colorIndex++ % COLORS.length] ?? 36;
      colorFor.set(name, color);
    }
    const useColor = process.stdout.isTTY;
    const label = name.padEnd(width);
    process.stdout.write(useColor ? `\u001b[${color}m${label}|\u001b[0m ${line}\n` : `${label}| ${line}\n`);
  };
}

/** Spawns a child in its own process group with line-prefixed output. */
export function startChild(
  name: string,
  command: string,
  args: readonly string[],
  options: { cwd?: string; env?: NodeJS.ProcessEnv; sink: LineSink },
): Child {
  const child = spawn(command, args, {
    cwd: options.cwd,
    env: options.env,
    stdio: ["ignore", "pipe", "pipe"],
    detached: true,
  });
  if (child.stdout) createInterface({ input: child.stdout }).on("line", (line) => options.sink(name, line, "out"));
  if (child.stderr) createInterface({ input: child.stderr }).on("line", (line) => options.sink(name, line, "err"));
  const exited = new Promise<number | string>((resolve) => {
    child.on("exit", (code, signal) => resolve(code ?? signal ?? "unknown"));
    child.on("error", (error) => {
      options.sink(name, `failed to start: ${error.message}`, "err");
      resolve("error");
    });
  });
  let done = false;
  void exited.then(() => {
    done = true;
  });
  return {
    name,
    process: child,
    exited,
    stop: async (signal = "SIGTERM", timeoutMs = 10_000) => {
      if (done || child.pid === undefined) return;
      // The whole group: tsx and next spawn grandchildren of their own.
      try {
        process.kill(-child.pid, signal);
      } catch {
        return;
      }
      const timer = setTimeout(() => {
        try {
          if (child.pid !== undefined) process.kill(-child.pid, "SIGKILL");
        } catch {
          // already gone
        }
      }, timeoutMs);
      await exited;
      clearTimeout(timer);
    },
  };
}

/** Polls a URL until it answers (any HTTP status below 500), or throws after the timeout. */
export async function waitForHttp(url: string, timeoutMs: number, child?: Child): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let exitedEarly = false;
  void child?.exited.then(() => {
    exitedEarly = true;
  });
  while (Date.now() < deadline) {
    if (exitedEarly) throw new Error(`${child?.name ?? url} exited before it became ready`);
    try {
      const response = await fetch(url, { signal: AbortSignal.timeout(2_000) });
      if (response.status < 500) return;
    } catch {
      // not up yet
    }
    await new Promise((resolve) => setTimeout(resolve, 150));
  }
  throw new Error(`${url} did not become ready within ${Math.round(timeoutMs / 1000)} s`);
}
