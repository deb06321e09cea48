import { NonRetriableError, RetryAfterError, type Inngest } from "inngest";
import { batchStartedEvent, isTerminalStatus } from "@batchgen/types";
import type { BatchRunnerService } from "../../services/generation/batch-runner.service.ts";
import { batchResume, batchStarted } from "../events.ts";

export interface BatchGenerateOptions {
  /**
   * How long a paused run waits for `batch.resume` before it looks at the database once more. A
   * safety net only, so it is long: a paused batch costs two steps per this period. A resume whose
   * event the wait missed is covered by the resume watchdog within seconds.
   */
  readonly pausedWaitTimeout: `${number}s` | `${number}m` | `${number}h` | `${number}d`;
  /** Loop iterations per run before continuing as a new run (Inngest caps a run at 1,000 steps). */
  readonly maxLoopsPerRun: number;
}

export const DEFAULT_BATCH_GENERATE_OPTIONS: BatchGenerateOptions = {
  pausedWaitTimeout: "1d",
  maxLoopsPerRun: 200,
};

/**
 * The orchestrator (story F-39), with the pause and cancel handling of F-47.
 *
 * A batch has one chain of runs at a time, fenced by its epoch (docs/decisions/one-orchestrator-per-batch.md):
 * the trigger event carries the epoch, every `generate-N` step checks it first, and a run of an
 * older chain ends at once — through `cancelOn` when the newer chain's `batch.started` arrives, or
 * at its next step. Each step runs a sliding window of the batch's concurrency and claims items
 * only while the batch is `running` (the claim transaction checks it under the row lock; that is
 * where pause and cancel are enforced). When a step ends with the batch paused, the run parks on
 * `step.waitForEvent('batch.resume')`: that state lives in the engine, so a paused batch stays
 * paused across restarts and costs no steps while it waits. A cancel ends the run through
 * `cancelOn`; the step in flight still finishes its items and closes the batch out.
 */
export function createBatchGenerateFunction(
  inngest: Inngest,
  runner: BatchRunnerService,
  options: BatchGenerateOptions = DEFAULT_BATCH_GENERATE_OPTIONS,
) {
  return inngest.createFunction(
    {
      id: "batch-generate",
      name: "Generate a batch of questions",
      triggers: [batchStarted],
      // Steps of one batch never execute at the same time (a parked run holds no slot, so this
      // alone does not make one run per batch: the epoch does).
      concurrency: { key: "event.data.batchId", limit: 1 },
      cancelOn: [
        { event: "batch.cancel", match: "data.batchId" },
        // A newer chain of the same batch ends this one, wherever it is parked.
        { event: "batch.started", if: "async.data.batchId == event.data.batchId && async.data.epoch > event.data.epoch" },
      ],
      retries: 10,
    },
    async ({ event, step }) => {
      const { batchId } = event.data;
      // Events sent before epochs existed carry none: epoch 0. The epoch migration started epoch 1
      // for every active batch, so such a run returns at its next step.
      const epoch = event.data.epoch ?? 0;
      const continuation = event.data.continuation ?? 0;

      for (let loop = 0; loop < options.maxLoopsPerRun; loop += 1) {
        const outcome = await step.run(`generate-${loop}`, async () => {
          const result = await runner.runChunk(batchId, epoch);
          if (result.status === "missing") throw new NonRetriableError(`Batch ${batchId} does not exist`);
          // Not a spin of empty steps while this process drains: the engine retries the step in 10 s
          // (11 attempts outlast the 30 s shutdown window), by then on another process or the restarted one.
          if (result.status === "shutting-down") throw new RetryAfterError(`The API is shutting down; batch ${batchId} continues shortly`, "10s");
          return result;
        });

        // Superseded by a newer chain, or ended (the step that ended it announced it through the outbox).
        if (outcome.status === "superseded" || isTerminalStatus(outcome.status)) {
          return { batchId, epoch, status: outcome.status, continuation };
        }

        if (outcome.status === "paused") {
          await step.waitForEvent(`wait-resume-${loop}`, {
            event: batchResume,
            match: "data.batchId",
            timeout: options.pausedWaitTimeout,
          });
        }
      }

      // Continue as new: the same chain (same epoch) in a fresh run keeps the step count bounded.
      // The event id is the chain's and the continuation's, so a retried send starts nothing twice.
      await step.sendEvent("continue-as-new", batchStartedEvent(batchId, epoch, continuation + 1));
      return { batchId, epoch, status: "continued", continuation };
    },
  );
}
