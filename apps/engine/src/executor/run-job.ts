import type { Pool } from "@batchgen/db";
import type { LeasedJob, TransactionResult, Tx } from "../store/tx.ts";
import { callApp } from "./call.ts";
import { queueItemId } from "./checkpoint.ts";
import { applyStepRunFast } from "./fast-path.ts";
import { applyCallResult, applyTimer, failAtStepLimit, type HandlerSettings } from "./handle.ts";
import type { RequestCache } from "./request-cache.ts";
import { failUnsynced, readRequest, type AppRequest } from "./request.ts";

/** What a committed transaction hands back to the worker (jobs it leased, memos, ended runs, wake). */
export type Committed = Pick<TransactionResult<unknown>, "leased" | "memos" | "ended" | "wake">;

export interface JobContext {
  readonly pool: Pool;
  readonly log: (line: string) => void;
  readonly settings: HandlerSettings;
  readonly signingKey?: string;
  readonly callTimeoutMs: number;
  /** Let the SDK checkpoint (see call.ts); false keeps one step per request. */
  readonly checkpointing: boolean;
  /** Apply one-StepRun answers through engine.apply_step_run (false: always the TypeScript path). */
  readonly fastPath: boolean;
  readonly cache: RequestCache;
  /** Runs `fn` in one transaction (leasing due calls to this process) and takes in what it committed. */
  readonly transact: (fn: (tx: Tx) => Promise<void>) => Promise<void>;
  /** Takes in what the fast path committed (its own transaction). */
  readonly absorb: (committed: Committed) => void;
  /** Counts a request made to the app. */
  readonly countCall: () => void;
}

/**
 * Runs one leased job to its committed outcome: a timer resumes its run; a call is built (from the
 * cache when it is fresh), checked against the step limit, made, and its answer applied.
 */
export async function runJob(job: LeasedJob, context: JobContext): Promise<void> {
  const { settings } = context;
  if (job.kind !== "call") {
    await context.transact((tx) => applyTimer(tx, job, settings));
    return;
  }
  const request = await buildRequest(job, context);
  if (!request) return;
  if (request.steps.length >= settings.maxStepsPerRun) {
    await context.transact((tx) => failAtStepLimit(tx, job, settings));
    return;
  }
  context.countCall();
  const result = await callApp(
    // Planned-step calls never checkpoint (the SDK runs exactly the step asked for), so only
    // discovery requests carry what turns it on; the queue item id names this lease.
    context.checkpointing && job.step_id === ""
      ? { ...request, checkpoint: { fnId: request.functionId, queueItemId: queueItemId(job.id, settings.owner) } }
      : request,
    { signingKey: context.signingKey, timeoutMs: context.callTimeoutMs },
  );
  const fast = context.fastPath && (await applyStepRunFast(context.pool, job, result, settings, context.log));
  if (fast) {
    context.absorb({ ...fast, ended: [] });
    return;
  }
  await context.transact((tx) => applyCallResult(tx, job, result, settings));
}

async function buildRequest(job: LeasedJob, context: JobContext): Promise<AppRequest | undefined> {
  const cached = context.cache.requestFor(job);
  if (cached) return cached;
  const request = await readRequest(context.pool, job);
  if (!request) {
    await context.transact((tx) => failUnsynced(tx, job, context.settings.owner));
    return undefined;
  }
  context.cache.remember(request);
  return request;
}
