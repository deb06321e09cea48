import { Router } from "express";
import type { BatchControlController } from "../controllers/generation/batch-control.controller.ts";
import type { BatchController } from "../controllers/generation/batch.controller.ts";
import { requireRole } from "../middleware/rbac.middleware.ts";

/** /api/v1/generation/batch…: faculty only; every batch route is owner-only inside the service. */
export function createGenerationRouter(batches: BatchController, controls: BatchControlController): Router {
  const router = Router();
  const faculty = requireRole("faculty");
  router.post("/generation/batch", faculty, batches.handleCreate);
  router.get("/generation/batch", faculty, batches.handleList);
  router.get("/generation/batch/:batchId", faculty, batches.handleGet);
  router.get("/generation/batch/:batchId/items", faculty, batches.handleItems);
  router.get("/generation/batch/:batchId/stream", faculty, batches.handleStream);
  router.get("/generation/batch/:batchId/history", faculty, controls.handleHistory);
  router.post("/generation/batch/:batchId/pause", faculty, controls.handlePause);
  router.post("/generation/batch/:batchId/resume", faculty, controls.handleResume);
  router.post("/generation/batch/:batchId/cancel", faculty, controls.handleCancel);
  return router;
}
