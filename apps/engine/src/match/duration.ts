/** Parses Inngest time strings ("30s", "1h30m", "2d", "500ms") into milliseconds. */
export function parseDurationMs(text: string): number | undefined {
  const pattern = /(\d+(?:\.\d+)?)(ms|s|m|h|d|w)/g;
  const units: Record<string, number> = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 };
  let total = 0;
  let consumed = 0;
  for (const match of text.matchAll(pattern)) {
    total += Number(match[1]) * (units[match[2] ?? ""] ?? 0);
    consumed += match[0].length;
  }
  if (consumed === 0 || consumed !== text.replace(/\s/g, "").length) return undefined;
  return total;
}

/**
 * A Sleep op carries its duration in `name`: a time string, or an ISO date from sleepUntil.
 * Returns the absolute wake-up time.
 */
export function resolveSleepUntil(name: string, now: number): number | undefined {
  const duration = parseDurationMs(name);
  if (duration !== undefined) return now + duration;
  const date = Date.parse(name);
  return Number.isNaN(date) ? undefined : date;
}
