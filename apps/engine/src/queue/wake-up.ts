import type { Pool } from "@batchgen/db";

/**
 * When the lease loop looks for work next: at once when kicked (a transaction queued work, a
 * NOTIFY arrived, a job finished and freed a slot), else when the next queued job is due, and at
 * the latest after the poll interval (the backstop for a missed NOTIFY).
 */
export class WakeUp {
  private kicked = false;
  private wake: (() => void) | undefined;

  kick(): void {
    this.kicked = true;
    this.wake?.();
  }

  /** Starts a pass of the loop: kicks before this point are consumed. */
  begin(): void {
    this.kicked = false;
  }

  /** Waits `ms`, or less if kicked since begin(). */
  async wait(ms: number): Promise<void> {
    if (this.kicked) return;
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, Math.max(1, ms));
      this.wake = () => {
        clearTimeout(timer);
        resolve();
      };
    });
    this.wake = undefined;
  }
}

/** Milliseconds until the next unleased job is due, capped at `pollMs`. */
export async function msUntilNextJob(pool: Pool, pollMs: number): Promise<number> {
  const { rows } = await pool.query<{ ms: number | null }>(
    `SELECT extract(epoch FROM min(run_at) - clock_timestamp()) * 1000 AS ms FROM engine.jobs WHERE lease_owner IS NULL`,
  );
  const ms = rows[0]?.ms;
  return ms === null || ms === undefined ? pollMs : Math.min(pollMs, Math.max(0, Number(ms)));
}
