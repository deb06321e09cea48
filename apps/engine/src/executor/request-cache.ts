import type { EngineEvent } from "../store/records.ts";
import { jobKeyOf } from "../store/runs.ts";
import type { CommittedMemo, LeasedJob } from "../store/tx.ts";
import type { AppRequest } from "./request.ts";

const MEMO_CACHE_RUNS = 500;
const FUNCTION_CACHE_MS = 2_000;

/**
 * What this process knows of recently active runs, so the next request of a run can be built
 * without reading it back: each run's memos in stack order, as this process committed or read
 * them, and each function's URL and attempts for 2 s. Memos are append-only, so the cache is used
 * only when the transaction that leased the job saw the same number of them (its hint); anything
 * else reads from the database.
 */
export class RequestCache {
  private readonly memos = new Map<string, { id: string; memo: unknown }[]>();
  private readonly functions = new Map<string, { url: string; maxAttempts: number; at: number }>();

  /** Takes in what a committed transaction did: new memos extend a run's list, ended runs go. */
  absorb(memos: readonly CommittedMemo[], ended: readonly string[]): void {
    for (const memo of memos) {
      const steps = this.memos.get(memo.runId);
      if (steps && steps.length === memo.position) steps.push({ id: memo.id, memo: memo.memo });
      else this.memos.delete(memo.runId);
    }
    for (const runId of ended) this.memos.delete(runId);
  }

  /** The request for `job` from the cache alone, or undefined when the cache may be stale. */
  requestFor(job: LeasedJob): AppRequest | undefined {
    const hint = job.hint;
    if (!hint) return undefined;
    const steps = this.memos.get(job.run_id);
    const fn = this.functions.get(hint.functionId);
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

  /** Remembers a request read from the database (the run becomes the most recently used). */
  remember(request: AppRequest): void {
    this.functions.set(request.functionId, { url: request.url, maxAttempts: request.maxAttempts, at: Date.now() });
    this.memos.delete(request.runId);
    this.memos.set(request.runId, [...request.steps]);
    if (this.memos.size > MEMO_CACHE_RUNS) {
      const oldest = this.memos.keys().next().value;
      if (oldest !== undefined) this.memos.delete(oldest);
    }
  }
}
