import type { AppRole } from "@batchgen/types";
import type { NextFunction, Request, RequestHandler, Response } from "express";
import { forbidden, unauthorized } from "../errors/app-error.ts";

/** Allows the request through only for callers with one of the given app roles. */
export function requireRole(...roles: readonly AppRole[]): RequestHandler {
  return (req: Request, _res: Response, next: NextFunction) => {
    if (!req.user) throw unauthorized();
    if (!req.user.role || !roles.includes(req.user.role)) {
      throw forbidden(`This action requires the ${roles.join(" or ")} role`);
    }
    next();
  };
}
