import { Router } from "express";
import type { BatchControlController } from "../controllers/generation/batch-control.controller.ts";
import type { BatchController } from "../controllers/generation/batch.controller.ts";
import type { QuestionExportController } from "../controllers/generation/question-export.controller.ts";
import type { GenerationLimiters, RateLimitOptions } from "../middleware/rate-limit.middleware.ts";
import { requireRole } from "../middleware/rbac.middleware.ts";

export interface GenerationLimits {
  readonly create: RateLimitOptions;
  readonly control: RateLimitOptions;
  readonly streamsPerUser: number;
}

export const DEFAULT_GENERATION_LIMITS: GenerationLimits = {
  create: { burst: 20, perMinute: 30 },
  control: { burst: 60, perMinute: 120 },
  streamsPerUser: 10,
};

/** /api/v1/generation/batch…: faculty only; every batch route is owner-only inside the service. */
export function createGenerationRouter(
  batches: BatchController,
  controls: BatchControlController,
  questions: QuestionExportController,
  limiters: GenerationLimiters,
): Router {
  const router = Router();
  const faculty = requireRole("faculty");
  const createLimit = limiters.create;
  const controlLimit = limiters.control;
  router.post("/generation/batch", faculty, createLimit, batches.handleCreate);
  router.get("/generation/batch", faculty, batches.handleList);
  router.get("/generation/batch/:batchId", faculty, batches.handleGet);
  router.get("/generation/batch/:batchId/items", faculty, batches.handleItems);
  router.get("/generation/batch/:batchId/questions", faculty, questions.handleQuestions);
  router.get("/generation/batch/:batchId/stream", faculty, limiters.stream, batches.handleStream);
  router.get("/generation/batch/:batchId/history", faculty, controls.handleHistory);
  router.post("/generation/batch/:batchId/pause", faculty, controlLimit, controls.handlePause);
  router.post("/generation/batch/:batchId/resume", faculty, controlLimit, controls.handleResume);
  router.post("/generation/batch/:batchId/cancel", faculty, controlLimit, controls.handleCancel);
  router.post("/generation/batch/:batchId/retry-failed", faculty, controlLimit, controls.handleRetryFailed);
  return router;
}
