import { randomInt } from "node:crypto";
import type { Pool } from "@batchgen/db";
import type { HandlerSettings } from "../executor/handle.ts";
import { RequestCache } from "../executor/request-cache.ts";
import { runJob, type Committed, type JobContext } from "../executor/run-job.ts";
import { inTransaction, type LeasedJob } from "../store/tx.ts";
import { InstanceLock } from "./instance-lock.ts";
import { leaseDueJobs } from "./lease.ts";
import { createProblemLog } from "./problem-log.ts";
import { handBackLease, reapLeases } from "./reaper.ts";
import { forgetEndedRuns, forgetOldEvents } from "./retention.ts";
import { msUntilNextJob, WakeUp } from "./wake-up.ts";

const HOUSEKEEPING_MS = 2_000;
/** Retention runs at the first housekeeping tick, then every 300 ticks (10 minutes). */
const RETENTION_TICKS = 300;

export interface WorkerOptions {
  readonly pool: Pool;
  readonly log: (line: string) => void;
  readonly signingKey?: string;
  readonly settings: Omit<HandlerSettings, "owner">;
  readonly maxInFlight: number;
  readonly callTimeoutMs: number;
  readonly pollMs: number;
  /** Let the SDK checkpoint (see call.ts); false keeps one step per request. */
  readonly checkpointing: boolean;
  /** Apply one-StepRun answers through engine.apply_step_run (false: always the TypeScript path). */
  readonly fastPath: boolean;
  /** Ended runs older than this many days are deleted with their steps, waits and jobs (retention.ts). */
  readonly runRetentionDays: number;
}

/**
 * The engine's queue loop: leases due jobs (lease.ts) up to `maxInFlight`, runs each
 * (executor/run-job.ts), and sleeps until it is kicked or the next job is due (wake-up.ts). Every
 * 2 s housekeeping takes the instance lock back after a database outage (instance-lock.ts), hands
 * back dead leases (reaper.ts) and, at the first tick and every 10 minutes after, forgets events past
 * their 24 h and runs that ended longer ago than the retention period (retention.ts).
 */
export class Worker {
  readonly owner = randomInt(1, 2 ** 31 - 1);
  /** Requests made to apps since start (bench and tests read it through EngineHandle.stats). */
  calls = 0;
  private closing = false;
  private loopDone: Promise<void> = Promise.resolve();
  private housekeepingTimer: NodeJS.Timeout | undefined;
  private readonly inFlight = new Set<Promise<void>>();
  private readonly runningJobIds = new Set<string>();
  private readonly wakeUp = new WakeUp();
  private readonly cache = new RequestCache();
  private readonly problem: (message: string) => void;
  private readonly lock: InstanceLock;
  private readonly jobContext: JobContext;

  constructor(private readonly options: WorkerOptions) {
    this.problem = createProblemLog(options.log);
    this.lock = new InstanceLock(options.pool, this.owner, {
      onNotify: () => this.kick(),
      onLost: (error) => {
        if (!this.closing) this.problem(`engine lost its database session (${error?.message ?? "closed"}); reconnecting`);
      },
    });
    this.jobContext = {
      pool: options.pool,
      log: options.log,
      settings: { ...options.settings, owner: this.owner },
      signingKey: options.signingKey,
      callTimeoutMs: options.callTimeoutMs,
      checkpointing: options.checkpointing,
      fastPath: options.fastPath,
      cache: this.cache,
      transact: async (fn) => this.absorb(await inTransaction(options.pool, options.log, fn, { owner: this.owner })),
      absorb: (committed) => this.absorb(committed),
      countCall: () => {
        this.calls += 1;
      },
    };
  }

  async start(): Promise<void> {
    if (!(await this.lock.hold())) throw new Error(`engine instance #${this.owner} is already running`);
    await this.reap();
    let ticks = 0;
    let busy = false;
    this.housekeepingTimer = setInterval(() => {
      if (busy) return;
      busy = true;
      ticks += 1;
      this.housekeeping(ticks)
        .catch((error: unknown) => this.problem(`engine housekeeping error: ${(error as Error).message}`))
        .finally(() => {
          busy = false;
        });
    }, HOUSEKEEPING_MS);
    this.loopDone = this.loop();
  }

  /** Takes in what a committed transaction did: updates the cache, runs the jobs it leased. */
  absorb(result: Committed): void {
    this.cache.absorb(result.memos, result.ended);
    for (const job of result.leased) this.dispatch(job);
    if (result.wake) this.kick();
  }

  private kick(): void {
    this.wakeUp.kick();
  }

  async close(graceMs = 5_000): Promise<void> {
    this.closing = true;
    clearInterval(this.housekeepingTimer);
    this.kick();
    await this.loopDone;
    await Promise.race([Promise.allSettled([...this.inFlight]), new Promise((resolve) => setTimeout(resolve, graceMs))]);
    await this.lock.release();
  }

  private async housekeeping(ticks: number): Promise<void> {
    if (!this.lock.held && !this.closing) {
      if (!(await this.lock.hold())) return;
      this.options.log(`engine has its database session back (instance #${this.owner})`);
      this.kick();
    }
    await this.reap();
    if (ticks % RETENTION_TICKS === 1) await this.forget();
  }

  private async forget(): Promise<void> {
    await forgetOldEvents(this.options.pool);
    const runs = await forgetEndedRuns(this.options.pool, this.options.runRetentionDays);
    if (runs > 0) this.options.log(`engine deleted ${runs} run(s) that ended more than ${this.options.runRetentionDays} day(s) ago`);
  }

  private async reap(): Promise<void> {
    if (await reapLeases(this.options.pool, this.options.log, this.owner, this.runningJobIds)) this.kick();
  }

  private async loop(): Promise<void> {
    while (!this.closing) {
      this.wakeUp.begin();
      let nextDueMs = this.options.pollMs;
      try {
        const room = this.options.maxInFlight - this.inFlight.size;
        if (room > 0) {
          const leased = await leaseDueJobs(this.options.pool, this.options.log, this.owner, room);
          for (const job of leased) this.dispatch(job);
          if (leased.length === room) continue;
          nextDueMs = await msUntilNextJob(this.options.pool, this.options.pollMs);
        }
      } catch (error) {
        if (this.closing) break;
        this.problem(`engine worker error: ${(error as Error).message}`);
        nextDueMs = 500;
      }
      if (this.closing) continue;
      await this.wakeUp.wait(nextDueMs);
    }
  }

  private dispatch(job: LeasedJob): void {
    if (this.closing) return;
    const jobId = String(job.id);
    this.runningJobIds.add(jobId);
    const task = runJob(job, this.jobContext)
      .catch((error: unknown) => {
        // The job stays leased by this live process; hand it back so it is tried again.
        this.problem(`engine job ${job.id} (${job.kind}) error: ${(error as Error).message}`);
        return handBackLease(this.options.pool, job.id, this.owner).catch(() => undefined);
      })
      .finally(() => {
        this.runningJobIds.delete(jobId);
        this.inFlight.delete(task);
        this.kick();
      });
    this.inFlight.add(task);
  }
}
