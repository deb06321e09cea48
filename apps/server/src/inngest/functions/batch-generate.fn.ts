import { NonRetriableError, type Inngest } from "inngest";
import { isTerminalStatus } from "@batchgen/types";
import type { BatchRunnerService } from "../../services/generation/batch-runner.service.ts";
import { batchFinished, batchResume, batchStarted } from "../events.ts";

export interface BatchGenerateOptions {
  /**
   * How long a paused orchestrator waits for `batch.resume` before it re-reads
   * the database. A resume sent between the status check and the wait is lost
   * (on Inngest too), so this bounds the delay in that race.
   */
  readonly resumeWaitTimeout: `${number}s` | `${number}m`;
  /** Loop iterations per run before continuing as a new run (Inngest caps a run at 1,000 steps). */
  readonly maxLoopsPerRun: number;
}

export const DEFAULT_BATCH_GENERATE_OPTIONS: BatchGenerateOptions = {
  resumeWaitTimeout: "10s",
  maxLoopsPerRun: 200,
};

/**
 * The orchestrator (story F-39), with the pause and cancel handling of F-47.
 *
 * Each `generate-N` step runs a sliding window of the batch's concurrency and
 * checks the control state in the database before every dispatch (the claim
 * transaction requires `running`). When a step ends because the batch is
 * paused, the run parks on `step.waitForEvent('batch.resume')`; that state
 * lives in the engine, so a paused batch stays paused across restarts. A
 * cancel ends the run through `cancelOn`; the step in flight still finishes
 * its items, and `batch-control` finalizes the batch once they have drained.
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
      concurrency: { key: "event.data.batchId", limit: 1 },
      cancelOn: [{ event: "batch.cancel", match: "data.batchId" }],
      retries: 10,
    },
    async ({ event, step }) => {
      const { batchId } = event.data;
      const continuation = event.data.continuation ?? 0;

      for (let loop = 0; loop < options.maxLoopsPerRun; loop += 1) {
        const outcome = await step.run(`generate-${loop}`, async () => {
          const result = await runner.runChunk(batchId);
          if (result.status === "missing") throw new NonRetriableError(`Batch ${batchId} does not exist`);
          return result;
        });

        if (isTerminalStatus(outcome.status)) {
          // Announced whenever the batch is seen ended, not only by the step that ended it (that
          // step's answer may have been lost and retried); the fixed id deduplicates. A cancel is
          // announced by batch-control once its items have drained.
          if (outcome.status !== "cancelled") {
            await step.sendEvent("announce-finished", batchFinished.create({ batchId, status: outcome.status }, { id: `batch-finished-${batchId}` }));
          }
          return { batchId, status: outcome.status, continuation };
        }

        if (outcome.status === "paused") {
          // Parked: nothing runs until a resume arrives or the timeout re-checks the database.
          await step.waitForEvent(`wait-resume-${loop}`, {
            event: batchResume,
            match: "data.batchId",
            timeout: options.resumeWaitTimeout,
          });
        }
      }

      // Continue as new: a fresh run (queued behind this one by the concurrency key) keeps the step
      // count bounded. The id derives from this run's trigger, so each chain of runs (the first, or
      // one a resume restarted) has its own ids and none is deduplicated away.
      await step.sendEvent(
        "continue-as-new",
        batchStarted.create({ batchId, continuation: continuation + 1 }, { id: `${event.id ?? `batch-${batchId}`}-next` }),
      );
      return { batchId, status: "continued", continuation };
    },
  );
}
