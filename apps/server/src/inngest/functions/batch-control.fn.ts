import type { Inngest } from "inngest";
import type { BatchDrainService } from "../../services/generation/batch-drain.service.ts";
import { batchCancel, batchFinished, batchPause, batchResume } from "../events.ts";

export interface BatchControlFnOptions {
  /** Between drain checks. */
  readonly pollInterval: `${number}s`;
  /** Checks before giving up on a drain (the lease check cancels orphans well before this). */
  readonly maxChecks: number;
}

export const DEFAULT_BATCH_CONTROL_OPTIONS: BatchControlFnOptions = { pollInterval: "1s", maxChecks: 400 };

/**
 * `batchControl` (story F-47): the asynchronous side of the three control
 * events. The API has already changed the status and, on cancel, dropped the
 * pending items; what is left is to watch the items that were in flight
 * finish. On cancel this function ends the batch once they have — stamping
 * `finished_at` — and announces it with `batch.finished`. Pause records when
 * it took full effect; resume needs nothing: the parked orchestrator wakes on
 * the same event.
 */
export function createBatchControlFunction(
  inngest: Inngest,
  drain: BatchDrainService,
  options: BatchControlFnOptions = DEFAULT_BATCH_CONTROL_OPTIONS,
) {
  return inngest.createFunction(
    {
      id: "batch-control",
      name: "Apply a batch control action",
      triggers: [batchPause, batchResume, batchCancel],
      retries: 5,
    },
    async ({ event, step }) => {
      const { batchId } = event.data;
      if (event.name === "batch.resume") {
        return { batchId, action: "resume" as const, status: event.data.newStatus };
      }
      const expected = event.name === "batch.cancel" ? "cancelled" : "paused";
      for (let check = 0; check < options.maxChecks; check += 1) {
        const state = await step.run(`check-drain-${check}`, () => drain.checkDrain(batchId, expected));
        if (state.drained) {
          if (state.finalized) {
            await step.sendEvent(
              "announce-finished",
              batchFinished.create({ batchId, status: "cancelled" }, { id: `batch-finished-${batchId}` }),
            );
          }
          return { batchId, action: expected === "cancelled" ? "cancel" : "pause", status: state.status, drainedAfterChecks: check + 1 };
        }
        await step.sleep(`wait-drain-${check}`, options.pollInterval);
      }
      throw new Error(`Items of batch ${batchId} were still in flight after ${options.maxChecks} checks`);
    },
  );
}
