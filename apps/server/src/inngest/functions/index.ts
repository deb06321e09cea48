import type { Inngest } from "inngest";
import type { BatchDrainService } from "../../services/generation/batch-drain.service.ts";
import type { BatchRunnerService } from "../../services/generation/batch-runner.service.ts";
import { createBatchControlFunction, type BatchControlFnOptions } from "./batch-control.fn.ts";
import { createBatchGenerateFunction, type BatchGenerateOptions } from "./batch-generate.fn.ts";

export interface PipelineFunctionDeps {
  readonly runner: BatchRunnerService;
  readonly drain: BatchDrainService;
  readonly generateOptions?: BatchGenerateOptions;
  readonly controlOptions?: BatchControlFnOptions;
}

/** The registry served at /api/inngest. */
export function createPipelineFunctions(inngest: Inngest, deps: PipelineFunctionDeps) {
  return [
    createBatchGenerateFunction(inngest, deps.runner, deps.generateOptions),
    createBatchControlFunction(inngest, deps.drain, deps.controlOptions),
  ];
}
