import { readdir, readFile } from "node:fs/promises";

// CPU time of whole process trees from /proc/<pid>/stat: utime + stime of every live process in
// the tree, plus cutime + cstime (the children a process has already reaped), so a PostgreSQL
// backend that ends during a measurement still counts through its postmaster. In clock ticks.

const TICKS_PER_SECOND = 100; // getconf CLK_TCK on Linux x64

interface ProcRow {
  readonly pid: number;
  readonly ppid: number;
  readonly ticks: number;
}

async function readProcs(): Promise<ProcRow[]> {
  const rows: ProcRow[] = [];
  for (const entry of await readdir("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = await readFile(`/proc/${entry}/stat`, "utf8");
      const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      // After the command: state(0) ppid(1) … utime(11) stime(12) cutime(13) cstime(14).
      const ticks = Number(fields[11]) + Number(fields[12]) + Number(fields[13]) + Number(fields[14]);
      rows.push({ pid: Number(entry), ppid: Number(fields[1]), ticks });
    } catch {
      // gone
    }
  }
  return rows;
}

/** The pid and every descendant of it. */
export async function processTree(root: number): Promise<number[]> {
  const rows = await readProcs();
  const out = [root];
  for (let index = 0; index < out.length; index += 1) {
    for (const row of rows) if (row.ppid === out[index]) out.push(row.pid);
  }
  return out;
}

async function treeTicks(roots: readonly number[]): Promise<number> {
  const rows = await readProcs();
  const byPid = new Map(rows.map((row) => [row.pid, row]));
  const seen = new Set<number>();
  const queue = [...roots];
  let total = 0;
  while (queue.length > 0) {
    const pid = queue.pop()!;
    if (seen.has(pid)) continue;
    seen.add(pid);
    total += byPid.get(pid)?.ticks ?? 0;
    for (const row of rows) if (row.ppid === pid) queue.push(row.pid);
  }
  return total;
}

/** Named groups of process trees, e.g. `{ api: [pid], postgres: [postmasterPid] }`. */
export type ProcessGroups = Record<string, readonly number[]>;

export interface CpuMeasurement {
  /** CPU milliseconds per group between start and stop. */
  readonly ms: Record<string, number>;
  readonly totalMs: number;
}

export async function startCpuMeter(groups: ProcessGroups): Promise<{ stop(): Promise<CpuMeasurement> }> {
  const before = new Map<string, number>();
  for (const [name, roots] of Object.entries(groups)) before.set(name, await treeTicks(roots));
  return {
    async stop() {
      const ms: Record<string, number> = {};
      let totalMs = 0;
      for (const [name, roots] of Object.entries(groups)) {
        const value = ((await treeTicks(roots)) - (before.get(name) ?? 0)) * (1000 / TICKS_PER_SECOND);
        ms[name] = value;
        totalMs += value;
      }
      return { ms, totalMs };
    },
  };
}
