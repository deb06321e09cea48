/** Inngest's retry schedule: the n-th retry waits BACKOFF_TABLE[n], plus 0–30 s of jitter. */
const BACKOFF_TABLE_MS = [15_000, 30_000, 60_000, 120_000, 300_000, 600_000, 1_200_000, 2_400_000, 3_600_000, 7_200_000];
const JITTER_MS = 30_000;

/** `scale` exists for tests only (a suite cannot wait 15 s per retry); production uses 1. */
export function retryDelayMs(failedAttempt: number, scale: number, random: () => number = Math.random): number {
  const base = BACKOFF_TABLE_MS[Math.min(failedAttempt, BACKOFF_TABLE_MS.length - 1)] ?? 7_200_000;
  return Math.round((base + random() * JITTER_MS) * scale);
}

/**
 * Delay before trying an unreachable app again: 1 s doubling to 30 s. These tries do not use up
 * the step's attempts (see docs/decisions/engine-connection-errors.md).
 */
export function reconnectDelayMs(failures: number, scale: number): number {
  return Math.round(Math.min(30_000, 1_000 * 2 ** Math.max(0, failures - 1)) * scale);
}
