import { Router } from "express";
import { currentUser } from "../middleware/auth.middleware.ts";

/** GET /api/v1/me: who the API thinks the caller is (role and institution from app_metadata). */
export function createMeRouter(): Router {
  const router = Router();
  router.get("/me", (req, res) => {
    res.json({ data: currentUser(req), error: null });
  });
  return router;
}
