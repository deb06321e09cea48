import { batchControlBodySchema, type BatchControlAction } from "@batchgen/types";
import type { Request, Response } from "express";
import { validationError } from "../../errors/app-error.ts";
import { currentUser } from "../../middleware/auth.middleware.ts";
import { readIdempotencyKey, sendSerializedData } from "../../lib/idempotency.ts";
import { parseOrThrow } from "../../lib/validate.ts";
import type { BatchControlService, ControlOptions, ControlResult } from "../../services/generation/batch-control.service.ts";
import { param } from "./batch.controller.ts";

/** The last segment of each action's route (generation.routes.ts). */
const ACTION_PATH: Record<BatchControlAction, string> = {
  pause: "pause",
  resume: "resume",
  cancel: "cancel",
  retry_failed: "retry-failed",
};

function controlOptions(req: Request, action: BatchControlAction): ControlOptions {
  const body = parseOrThrow(batchControlBodySchema, req.body ?? {});
  // The story's BatchControlRequest names the action in the body too; the path decides, the body may only agree.
  if (body.action !== undefined && body.action !== action) {
    throw validationError(`action: "${body.action}" contradicts the path (/${ACTION_PATH[action]}); send "${action}" or leave it out`, { field: "action" });
  }
  return { reason: body.reason, idempotencyKey: readIdempotencyKey(req), requestId: typeof req.id === "string" ? req.id : undefined };
}

function send(res: Response, result: ControlResult): void {
  if (result.replayed) res.setHeader("Idempotent-Replayed", "true");
  // The text that was stored with the Idempotency-Key: a replay is the first answer byte for byte.
  sendSerializedData(res, result.statusCode, result.responseJson);
}

/** HTTP ↔ BatchControlService: POST /api/v1/generation/batch/:batchId/{pause,resume,cancel,retry-failed} and the history. */
export class BatchControlController {
  constructor(private readonly controls: BatchControlService) {}

  handlePause = async (req: Request, res: Response): Promise<void> => {
    send(res, await this.controls.pause(currentUser(req), param(req, "batchId"), controlOptions(req, "pause")));
  };

  handleResume = async (req: Request, res: Response): Promise<void> => {
    send(res, await this.controls.resume(currentUser(req), param(req, "batchId"), controlOptions(req, "resume")));
  };

  handleCancel = async (req: Request, res: Response): Promise<void> => {
    send(res, await this.controls.cancel(currentUser(req), param(req, "batchId"), controlOptions(req, "cancel")));
  };

  handleRetryFailed = async (req: Request, res: Response): Promise<void> => {
    send(res, await this.controls.retryFailed(currentUser(req), param(req, "batchId"), controlOptions(req, "retry_failed")));
  };

  handleHistory = async (req: Request, res: Response): Promise<void> => {
    const items = await this.controls.history(currentUser(req), param(req, "batchId"));
    res.json({ data: { items }, error: null });
  };
}
