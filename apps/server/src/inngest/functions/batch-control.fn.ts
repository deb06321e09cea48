import type { Inngest } from "inngest";
import type { BatchDrainService } from "../../services/generation/batch-drain.service.ts";
import { batchCancel, batchPause, batchResume } from "../events.ts";

export interface BatchControlFnOptions {
  /**
   * Waits between the checks of a cancelled batch's drain, growing (the chunk that runs the items
   * closes the batch out itself; these checks only catch a runner that died). After the last one
   * the stall sweeper takes over, so a run costs at most `2 × length + 1` steps.
   */
  readonly cancelCheckDelays: readonly `${number}s`[];
}

export const DEFAULT_BATCH_CONTROL_OPTIONS: BatchControlFnOptions = {
  cancelCheckDelays: ["1s", "5s", "15s", "30s", "60s", "120s"],
};

/**
 * `batchControl` (story F-47): the asynchronous side of the three control events. The API has
 * already changed the status and, on cancel, dropped the pending items. The chunk running the items
 * that were in flight stores them and closes the batch out (a cancel gets `finished_at` and
 * `batch.finished`; a pause with nothing left completes). This function checks that it happened:
 * once for a pause, a few times with growing waits for a cancel, where a dead runner's orphans are
 * cancelled once its lease is stale. Resume needs nothing: the parked orchestrator wakes on the
 * same event, and the resume watchdog covers a wakeup it missed.
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
      if (event.name === "batch.pause") {
        const state = await step.run("check-drain", () => drain.checkDrain(batchId, "paused"));
        return { batchId, action: "pause" as const, status: state.status, inFlightItems: state.inFlightItems };
      }
      let state = await step.run("check-drain-0", () => drain.checkDrain(batchId, "cancelled"));
      for (let check = 0; !state.drained && check < options.cancelCheckDelays.length; check += 1) {
        await step.sleep(`wait-drain-${check}`, options.cancelCheckDelays[check]!);
        state = await step.run(`check-drain-${check + 1}`, () => drain.checkDrain(batchId, "cancelled"));
      }
      // Not drained yet: the items are still generating in a live runner, which closes the batch
      // out when they are stored; if it dies, the sweeper does.
      return { batchId, action: "cancel" as const, status: state.status, drained: state.drained, finalized: state.finalized };
    },
  );
}
