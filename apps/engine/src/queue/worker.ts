import { randomInt } from "node:crypto";
import type { Pool, PoolClient } from "@batchgen/db";
import { callApp, type CallRequest } from "../executor/call.ts";
import { queueItemId } from "../executor/checkpoint.ts";
import { applyStepRunFast } from "../executor/fast-path.ts";
import { applyCallResult, applyTimer, failAtStepLimit, type HandlerSettings } from "../executor/handle.ts";
import { finishRun } from "../store/events.ts";
import { engineError, type EngineEvent } from "../store/records.ts";
import { jobKeyOf, lockRun } from "../store/runs.ts";
import { inTransaction, LEASE_LOCK_NAMESPACE as LOCK_NAMESPACE, type LeasedJob, type TransactionResult, type Tx } from "../store/tx.ts";

const MEMO_CACHE_RUNS = 500;
const FUNCTION_CACHE_MS = 2_000;

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
}

interface CandidateJob extends LeasedJob {
  readonly ckeys: string[];
  readonly climits: number[];
}

/**
 * Leases due jobs with FOR UPDATE SKIP LOCKED and runs them. Each engine process holds a session
 * advisory lock on its own instance number for as long as it lives; a lease whose owner no longer
 * holds that lock belongs to a dead process and is handed back, so a kill -9 loses nothing.
 */
export class Worker {
  readonly owner = randomInt(1, 2 ** 31 - 1);
  /** The session holding this instance's advisory lock, and how to let it go. */
  private lock: { readonly client: PoolClient; readonly release: (error?: Error) => void } | undefined;
  private closing = false;
  private kicked = false;
  private wakeUp: (() => void) | undefined;
  private loopDone: Promise<void> = Promise.resolve();
  private readonly inFlight = new Set<Promise<void>>();
  private reaperTimer: NodeJS.Timeout | undefined;
  private readonly runningJobIds = new Set<string>();
  private lastProblem = "";
  private lastProblemAt = 0;
  /**
   * Memos of recently active runs, in stack order, as this process committed or read them. Used
   * only when the leasing transaction saw the same number of memos (they are append-only), so a
   * request can be built without reading the run back; anything else reads from the database.
   */
  private readonly memoCache = new Map<string, { id: string; memo: unknown }[]>();
  private readonly functionCache = new Map<string, { url: string; maxAttempts: number; at: number }>();
  /** Requests made to apps since start (bench and tests read it through EngineHandle.stats). */
  calls = 0;

  constructor(private readonly options: WorkerOptions) {}

  private get settings(): HandlerSettings {
    return { ...this.options.settings, owner: this.owner };
  }

  async start(): Promise<void> {
    if (!(await this.holdLock())) throw new Error(`engine instance #${this.owner} is already running`);
    await this.reap();
    let ticks = 0;
    let busy = false;
    this.reaperTimer = setInterval(() => {
      if (busy) return;
      busy = true;
      ticks += 1;
      this.housekeeping(ticks)
        .catch((error: unknown) => this.problem(`engine housekeeping error: ${(error as Error).message}`))
        .finally(() => {
          busy = false;
        });
    }, 2_000);
    this.loopDone = this.loop();
  }

  /** Every 2 s: get the session lock back if the database dropped it, hand back dead leases. */
  private async housekeeping(ticks: number): Promise<void> {
    if (!this.lock && !this.closing) {
      if (!(await this.holdLock())) return;
      this.options.log(`engine has its database session back (instance #${this.owner})`);
      this.kick();
    }
    await this.reap();
    if (ticks % 300 === 0) await this.forgetOldEvents();
  }

  /**
   * Opens the session that proves this process is alive: it holds the advisory lock on the
   * instance number and LISTENs for work. If the database drops it (restart, network), the lock
   * is gone, so housekeeping opens a new one; meanwhile other engines may take over our leases,
   * which at-least-once allows.
   */
  private async holdLock(): Promise<boolean> {
    const client = await this.options.pool.connect();
    let released = false;
    const release = (error?: Error): void => {
      if (released) return;
      released = true;
      if (this.lock?.client === client) this.lock = undefined;
      client.release(error ?? true);
    };
    const lost = (error?: Error): void => {
      if (released) return;
      release(error);
      if (!this.closing) this.problem(`engine lost its database session (${error?.message ?? "closed"}); reconnecting`);
    };
    client.on("error", (error) => lost(error));
    client.on("end", () => lost());
    client.on("notification", () => this.kick());
    try {
      const { rows } = await client.query<{ ok: boolean }>("SELECT pg_try_advisory_lock($1, $2) AS ok", [LOCK_NAMESPACE, this.owner]);
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
    this.lock = { client, release };
    return true;
  }

  /** Logs a problem, but the same one at most every 30 s (a database outage repeats itself). */
  private problem(message: string): void {
    const now = Date.now();
    if (message === this.lastProblem && now - this.lastProblemAt < 30_000) return;
    this.lastProblem = message;
    this.lastProblemAt = now;
    this.options.log(message);
  }

  /** Takes in what a committed transaction did: runs the jobs it leased, updates the caches. */
  absorb(result: Pick<TransactionResult<unknown>, "leased" | "memos" | "ended" | "wake">): void {
    for (const memo of result.memos) {
      const steps = this.memoCache.get(memo.runId);
      if (steps && steps.length === memo.position) steps.push({ id: memo.id, memo: memo.memo });
      else this.memoCache.delete(memo.runId);
    }
    for (const runId of result.ended) this.memoCache.delete(runId);
    for (const job of result.leased) this.dispatch(job);
    if (result.wake) this.kick();
  }

  kick(): void {
    this.kicked = true;
    this.wakeUp?.();
  }

  async close(graceMs = 5_000): Promise<void> {
    this.closing = true;
    clearInterval(this.reaperTimer);
    this.kick();
    await this.loopDone;
    await Promise.race([Promise.allSettled([...this.inFlight]), new Promise((resolve) => setTimeout(resolve, graceMs))]);
    const lock = this.lock;
    if (lock) {
      await lock.client.query("SELECT pg_advisory_unlock($1, $2)", [LOCK_NAMESPACE, this.owner]).catch(() => undefined);
      lock.release();
    }
  }

  /** Event ids only deduplicate runs for 24 h, so older events and run keys can go (runs keep their own copy). */
  private async forgetOldEvents(): Promise<void> {
    await this.options.pool.query(
      `DELETE FROM engine.events WHERE id IN (SELECT id FROM engine.events WHERE received_at < now() - interval '24 hours' LIMIT 10000)`,
    );
    await this.options.pool.query(
      `DELETE FROM engine.run_keys WHERE (function_id, key) IN (
         SELECT function_id, key FROM engine.run_keys WHERE created_at < now() - interval '24 hours' LIMIT 10000)`,
    );
  }

  /** Hands back leases held by engine processes that died (their advisory lock is gone). */
  async reap(): Promise<void> {
    const { rows } = await this.options.pool.query<{ owner: number }>(
      `SELECT DISTINCT j.lease_owner AS owner FROM engine.jobs j
       WHERE j.lease_owner IS NOT NULL AND j.lease_owner <> $2 AND NOT EXISTS (
         SELECT 1 FROM pg_locks l WHERE l.locktype = 'advisory' AND l.classid = $1::int::oid
           AND l.objid = j.lease_owner::oid AND l.objsubid = 2 AND l.granted)`,
      [LOCK_NAMESPACE, this.owner],
    );
    for (const { owner } of rows) {
      const { value } = await inTransaction(this.options.pool, this.options.log, async (tx) => {
        const result = await tx.client.query(`UPDATE engine.jobs SET lease_owner = NULL, leased_at = NULL WHERE lease_owner = $1`, [owner]);
        tx.wake = true;
        return result.rowCount ?? 0;
      });
      if (value > 0) this.options.log(`engine reclaimed ${value} job(s) from a stopped engine process (#${owner})`);
      this.kick();
    }
    // Our own leases that nothing here is working on: the work failed while the database was
    // unreachable, and handing the lease back failed too. (The age keeps jobs that a transaction
    // has just leased, and that are about to be dispatched, out of it.)
    const { rowCount } = await this.options.pool.query(
      `UPDATE engine.jobs SET lease_owner = NULL, leased_at = NULL
       WHERE lease_owner = $1 AND leased_at < clock_timestamp() - interval '5 seconds' AND NOT (id = ANY($2::bigint[]))`,
      [this.owner, [...this.runningJobIds]],
    );
    if (rowCount) {
      this.options.log(`engine handed back ${rowCount} of its own job(s) left behind by a database error`);
      this.kick();
    }
  }

  private async loop(): Promise<void> {
    while (!this.closing) {
      this.kicked = false;
      let nextDueMs = this.options.pollMs;
      try {
        const room = this.options.maxInFlight - this.inFlight.size;
        if (room > 0) {
          const leased = await this.lease(room);
          for (const job of leased) this.dispatch(job);
          if (leased.length === room) continue;
          nextDueMs = await this.msUntilNextJob();
        }
      } catch (error) {
        if (this.closing) break;
        this.problem(`engine worker error: ${(error as Error).message}`);
        nextDueMs = 500;
      }
      if (this.kicked || this.closing) continue;
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, Math.max(1, nextDueMs));
        this.wakeUp = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      this.wakeUp = undefined;
    }
  }

  private async msUntilNextJob(): Promise<number> {
    const { rows } = await this.options.pool.query<{ ms: number | null }>(
      `SELECT extract(epoch FROM min(run_at) - clock_timestamp()) * 1000 AS ms FROM engine.jobs WHERE lease_owner IS NULL`,
    );
    const ms = rows[0]?.ms;
    return ms === null || ms === undefined ? this.options.pollMs : Math.min(this.options.pollMs, Math.max(0, Number(ms)));
  }

  /**
   * Leases due jobs, honouring per-key concurrency limits: only calls count against a key, and
   * a transaction-scoped advisory lock makes the count exact across engine processes.
   */
  private async lease(limit: number): Promise<LeasedJob[]> {
    const { value } = await inTransaction(this.options.pool, this.options.log, async (tx) => {
      await tx.client.query("SELECT pg_advisory_xact_lock($1, 0)", [LOCK_NAMESPACE]);
      const { rows: activeRows } = await tx.client.query<{ k: string; n: number }>(
        `SELECT k, count(*)::int AS n FROM engine.jobs a, unnest(a.ckeys) k WHERE a.lease_owner IS NOT NULL GROUP BY k`,
      );
      const active = new Map(activeRows.map((row) => [row.k, row.n]));
      const { rows } = await tx.client.query<CandidateJob>(
        `SELECT j.id, j.run_id, j.kind, j.step_id, j.attempt, j.conn_errors, j.job_key, j.ckeys, j.climits
         FROM engine.jobs j
         WHERE j.lease_owner IS NULL AND j.run_at <= clock_timestamp()
           AND NOT EXISTS (
             SELECT 1 FROM unnest(j.ckeys, j.climits) c(k, l)
             WHERE (SELECT count(*) FROM engine.jobs a WHERE a.lease_owner IS NOT NULL AND c.k = ANY(a.ckeys)) >= c.l)
         ORDER BY j.run_at, j.id
         LIMIT $1
         FOR UPDATE OF j SKIP LOCKED`,
        [limit],
      );
      const chosen: CandidateJob[] = [];
      for (const job of rows) {
        const blocked = job.ckeys.some((key, index) => (active.get(key) ?? 0) >= (job.climits[index] ?? Infinity));
        if (blocked) continue;
        for (const key of job.ckeys) active.set(key, (active.get(key) ?? 0) + 1);
        chosen.push(job);
      }
      if (chosen.length > 0) {
        await tx.client.query(`UPDATE engine.jobs SET lease_owner = $2, leased_at = clock_timestamp() WHERE id = ANY($1)`, [
          chosen.map((job) => job.id),
          this.owner,
        ]);
      }
      return chosen;
    });
    return value;
  }

  private dispatch(job: LeasedJob): void {
    if (this.closing) return;
    const jobId = String(job.id);
    this.runningJobIds.add(jobId);
    const task = this.runJob(job)
      .catch((error: unknown) => {
        // The job stays leased by this live process; hand it back so it is tried again.
        this.problem(`engine job ${job.id} (${job.kind}) error: ${(error as Error).message}`);
        return this.options.pool
          .query(
            `UPDATE engine.jobs SET lease_owner = NULL, leased_at = NULL, run_at = clock_timestamp() + interval '1 second' WHERE id = $1 AND lease_owner = $2`,
            [job.id, this.owner],
          )
          .then(() => undefined)
          .catch(() => undefined);
      })
      .finally(() => {
        this.runningJobIds.delete(jobId);
        this.inFlight.delete(task);
        this.kick();
      });
    this.inFlight.add(task);
  }

  private async transact(fn: (tx: Tx) => Promise<void>): Promise<void> {
    this.absorb(await inTransaction(this.options.pool, this.options.log, fn, { owner: this.owner }));
  }

  private async runJob(job: LeasedJob): Promise<void> {
    if (job.kind !== "call") {
      await this.transact((tx) => applyTimer(tx, job, this.settings));
      return;
    }
    const request = await this.buildRequest(job);
    if (!request) return;
    if (request.steps.length >= this.options.settings.maxStepsPerRun) {
      await this.transact((tx) => failAtStepLimit(tx, job, this.settings));
      return;
    }
    this.calls += 1;
    const result = await callApp(
      // Planned-step calls never checkpoint (the SDK runs exactly the step asked for), so only
      // discovery requests carry what turns it on; the queue item id names this lease.
      this.options.checkpointing && job.step_id === ""
        ? { ...request, checkpoint: { fnId: request.functionId, queueItemId: queueItemId(job.id, this.owner) } }
        : request,
      { signingKey: this.options.signingKey, timeoutMs: this.options.callTimeoutMs },
    );
    const fast = await applyStepRunFast(this.options.pool, job, result, this.settings, this.options.log);
    if (fast) {
      this.absorb({ ...fast, ended: [] });
      return;
    }
    await this.transact((tx) => applyCallResult(tx, job, result, this.settings));
  }

  private requestFromCache(job: LeasedJob): (CallRequest & { functionId: string }) | undefined {
    const hint = job.hint;
    if (!hint) return undefined;
    const steps = this.memoCache.get(job.run_id);
    const fn = this.functionCache.get(hint.functionId);
    if (!steps || steps.length !== hint.stackSize || !fn || Date.now() - fn.at > FUNCTION_CACHE_MS) return undefined;
    return {
      url: fn.url,
      functionId: hint.functionId,
      jobId: jobKeyOf(job, hint.functionId),
      stepId: job.step_id,
      runId: job.run_id,
      attempt: job.attempt,
      maxAttempts: fn.maxAttempts,
      event: hint.event as EngineEvent,
      steps: [...steps],
      version: hint.reqVersion,
      disableImmediateExecution: hint.disableImmediate,
    };
  }

  private async buildRequest(job: LeasedJob): Promise<(CallRequest & { functionId: string }) | undefined> {
    const cached = this.requestFromCache(job);
    if (cached) return cached;
    const { rows } = await this.options.pool.query<{
      status: string;
      event: EngineEvent;
      req_version: number;
      disable_immediate: boolean;
      url: string | null;
      max_attempts: number | null;
      function_id: string;
      steps: { id: string; memo: unknown }[];
    }>({
      name: "engine_build_request",
      text: `SELECT r.status, r.event, r.req_version, r.disable_immediate, r.function_id, f.url, f.max_attempts,
         (SELECT coalesce(json_agg(json_build_object('id', s.step_id, 'memo', s.memo) ORDER BY s.position), '[]')
          FROM engine.steps s WHERE s.run_id = r.id AND s.memo IS NOT NULL) AS steps
       FROM engine.runs r LEFT JOIN engine.functions f ON f.id = r.function_id WHERE r.id = $1`,
      values: [job.run_id],
    });
    const run = rows[0];
    if (!run || run.status !== "running" || run.url === null || run.max_attempts === null) {
      await this.transact(async (tx) => {
        const locked = await lockRun(tx, job.run_id);
        await tx.client.query(`DELETE FROM engine.jobs WHERE id = $1 AND lease_owner = $2`, [job.id, this.owner]);
        if (locked?.status === "running") {
          await finishRun(tx, locked, {
            status: "failed",
            error: engineError(`function ${locked.function_id} is not synced with the engine`),
          });
        }
      });
      return undefined;
    }
    this.functionCache.set(run.function_id, { url: run.url, maxAttempts: run.max_attempts, at: Date.now() });
    this.memoCache.delete(job.run_id);
    this.memoCache.set(job.run_id, [...run.steps]);
    if (this.memoCache.size > MEMO_CACHE_RUNS) {
      const oldest = this.memoCache.keys().next().value;
      if (oldest !== undefined) this.memoCache.delete(oldest);
    }
    return {
      url: run.url,
      functionId: run.function_id,
      jobId: jobKeyOf(job, run.function_id),
      stepId: job.step_id,
      runId: job.run_id,
      attempt: job.attempt,
      maxAttempts: run.max_attempts,
      event: run.event,
      steps: run.steps,
      version: run.req_version,
      disableImmediateExecution: run.disable_immediate,
    };
  }
}
