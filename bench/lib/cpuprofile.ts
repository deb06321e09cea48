import { readFileSync } from "node:fs";
import { readFile } from "node:fs/promises";
import path from "node:path";
import { REPO_ROOT } from "@batchgen/db";

// Reading V8 .cpuprofile files (node --cpu-prof): self time by place (our source line, a package,
// Node's internals, GC) and inclusive time of our own functions, within a time window.

interface CallFrame {
  readonly functionName: string;
  readonly url: string;
  readonly lineNumber: number;
}
interface ProfileNode {
  readonly id: number;
  readonly callFrame: CallFrame;
  readonly children?: readonly number[];
}
interface CpuProfile {
  readonly nodes: readonly ProfileNode[];
  readonly startTime: number;
  readonly samples: readonly number[];
  readonly timeDeltas: readonly number[];
}

export interface ProfileSummary {
  /** CPU time sampled in the window, ms (idle excluded). */
  readonly busyMs: number;
  /** Self time by place, ms, largest first. */
  readonly self: readonly { place: string; ms: number }[];
  /** Inclusive time of our own functions (apps/*, packages/*), ms, largest first. */
  readonly inclusive: readonly { place: string; ms: number }[];
}

function relative(url: string): string {
  const file = url.startsWith("file://") ? url.slice("file://".length) : url;
  return file.startsWith(REPO_ROOT) ? path.relative(REPO_ROOT, file) : file;
}

function ownCode(file: string): boolean {
  return /^(apps|packages)\//.test(file) && !file.includes("node_modules");
}

const sourceLines = new Map<string, string[]>();

/**
 * Our function as `file:line name`. Code run through tsx reports the transformed code's lines, so
 * a named function's line is looked up in the source (its first declaration or method).
 */
function ownPlace(file: string, frame: CallFrame): string {
  const name = frame.functionName || "(anonymous)";
  // Lines from V8 are the transformed code's, not the source's: look named functions up instead.
  let line = 0;
  if (frame.functionName) {
    if (!sourceLines.has(file)) {
      try {
        sourceLines.set(file, readFileSync(path.join(REPO_ROOT, file), "utf8").split("\n"));
      } catch {
        sourceLines.set(file, []);
      }
    }
    const escaped = frame.functionName.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
    const declaration = new RegExp(`(function\\*?\\s+${escaped}\\b|\\b(const|let)\\s+${escaped}\\s*=|^\\s*(public |private |protected |static |async |readonly )*${escaped}\\s*[(<])`);
    const found = sourceLines.get(file)!.findIndex((text) => declaration.test(text));
    if (found >= 0) line = found + 1;
  }
  return line > 1 ? `${file}:${line} ${name}` : `${file} ${name}`;
}

/** What a frame counts as: our function (file:line name), an npm package, Node itself, or V8. */
function placeOf(frame: CallFrame): string {
  const file = relative(frame.url);
  if (!file) return frame.functionName.startsWith("(") ? frame.functionName : `native ${frame.functionName || "(anonymous)"}`;
  if (ownCode(file)) return ownPlace(file, frame);
  const pkg = /node_modules\/(?:\.pnpm\/[^/]+\/node_modules\/)?((?:@[^/]+\/)?[^/]+)/.exec(file);
  if (pkg) return `npm ${pkg[1]}`;
  if (file.startsWith("node:")) return `Node ${file.slice(5).split("/").slice(0, 2).join("/")}`;
  return file;
}

/** Summarises one profile (optionally only between `fromMs` and `toMs` after its start). */
export async function summariseProfile(file: string, fromMs = 0, toMs = Number.POSITIVE_INFINITY): Promise<ProfileSummary> {
  const profile = JSON.parse(await readFile(file, "utf8")) as CpuProfile;
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const parent = new Map<number, number>();
  for (const node of profile.nodes) for (const child of node.children ?? []) parent.set(child, node.id);
  const self = new Map<string, number>();
  const inclusive = new Map<string, number>();
  let elapsed = 0;
  let busyMs = 0;
  for (let index = 0; index < profile.samples.length; index += 1) {
    elapsed += profile.timeDeltas[index]! / 1000;
    if (elapsed < fromMs || elapsed > toMs) continue;
    const duration = (profile.timeDeltas[index + 1] ?? profile.timeDeltas[index]!) / 1000;
    const leaf = byId.get(profile.samples[index]!);
    if (!leaf || leaf.callFrame.functionName === "(idle)") continue;
    busyMs += duration;
    const place = placeOf(leaf.callFrame);
    self.set(place, (self.get(place) ?? 0) + duration);
    const seen = new Set<string>();
    for (let id: number | undefined = leaf.id; id !== undefined; id = parent.get(id)) {
      const frame = byId.get(id)!.callFrame;
      const file = relative(frame.url);
      if (!ownCode(file)) continue;
      const key = ownPlace(file, frame);
      if (seen.has(key)) continue;
      seen.add(key);
      inclusive.set(key, (inclusive.get(key) ?? 0) + duration);
    }
  }
  const sorted = (map: Map<string, number>) => [...map.entries()].map(([place, ms]) => ({ place, ms })).sort((a, b) => b.ms - a.ms);
  return { busyMs, self: sorted(self), inclusive: sorted(inclusive) };
}
