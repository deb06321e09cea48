import type { Pool, PoolClient } from "@batchgen/db";
import { LEASE_LOCK_NAMESPACE } from "../store/tx.ts";

export interface InstanceLockEvents {
  /** NOTIFY engine_jobs arrived: another process (or this one) queued work. */
  readonly onNotify: () => void;
  /** The session was lost without close() being asked for (database restart, network). */
  readonly onLost: (error: Error | undefined) => void;
}

/**
 * The session that proves this engine process is alive: it holds the session advisory lock on the
 * process's instance number and LISTENs for work. Leases carry the instance number, so while this
 * lock is held nobody takes them over; once the session is gone (the process died, or the
 * database dropped it), other engines' reapers hand them back.
 */
export class InstanceLock {
  private session: { readonly client: PoolClient; readonly release: (error?: Error) => void } | undefined;

  constructor(
    private readonly pool: Pool,
    readonly owner: number,
    private readonly events: InstanceLockEvents,
  ) {}

  get held(): boolean {
    return this.session !== undefined;
  }

  /** Opens the session and takes the lock; false if another live session holds it already. */
  async hold(): Promise<boolean> {
    const client = await this.pool.connect();
    let released = false;
    const release = (error?: Error): void => {
      if (released) return;
      released = true;
      if (this.session?.client === client) this.session = undefined;
      client.release(error ?? true);
    };
    const lost = (error?: Error): void => {
      if (released) return;
      release(error);
      this.events.onLost(error);
    };
    client.on("error", (error) => lost(error));
    client.on("end", () => lost());
    client.on("notification", () => this.events.onNotify());
    try {
      const { rows } = await client.query<{ ok: boolean }>("SELECT pg_try_advisory_lock($1, $2) AS ok", [LEASE_LOCK_NAMESPACE, this.owner]);
      if (!rows[0]?.ok) {
        released = true;
        client.release();
        return false;
      }
      await client.query("LISTEN engine_jobs");
    } catch (error) {
      lost(error as Error);
      throw error;
    }
    this.session = { client, release };
    return true;
  }

  /** Lets the lock go and closes the session (on a clean shutdown). */
  async release(): Promise<void> {
    const session = this.session;
    if (!session) return;
    await session.client.query("SELECT pg_advisory_unlock($1, $2)", [LEASE_LOCK_NAMESPACE, this.owner]).catch(() => undefined);
    session.release();
  }
}
