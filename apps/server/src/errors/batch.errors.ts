import type { BatchControlAction } from "@batchgen/types";
import { allowedActionsFor } from "@batchgen/types";
import { AppError } from "./app-error.ts";

export class BatchNotFoundError extends AppError {
  constructor(readonly batchId: string) {
    super("NOT_FOUND", "Batch not found", { batchId });
    this.name = "BatchNotFoundError";
  }
}

export class BatchAccessDeniedError extends AppError {
  constructor(readonly batchId: string) {
    super("FORBIDDEN", "Only the faculty member who created this batch can do that", { batchId });
    this.name = "BatchAccessDeniedError";
  }
}

/**
 * A control action the batch's current status does not allow (story F-47:
 * 409 INVALID_TRANSITION). Carries what a client needs to recover: the status
 * the batch is really in and the actions it allows now.
 */
export class InvalidBatchStatusTransitionError extends AppError {
  readonly currentStatus: string;
  readonly action: BatchControlAction;
  readonly allowedActions: readonly BatchControlAction[];

  constructor(batchId: string, currentStatus: string, action: BatchControlAction) {
    const allowedActions = allowedActionsFor(currentStatus);
    const verb = action === "retry_failed" ? "retry the failed items of" : action;
    super("INVALID_TRANSITION", `Cannot ${verb} a batch that is ${currentStatus.replaceAll("_", " ")}`, {
      batchId,
      currentStatus,
      action,
      allowedActions,
    });
    this.name = "InvalidBatchStatusTransitionError";
    this.currentStatus = currentStatus;
    this.action = action;
    this.allowedActions = allowedActions;
  }
}
