import type { AuthUser } from "@batchgen/types";

declare global {
  // Express merges these into every Request (the documented extension point).
  namespace Express {
    interface Request {
      /** Set by requestId middleware: the incoming X-Request-Id or a new uuid. */
      id: string;
      /** Set by requireAuth from the verified access token. */
      user?: AuthUser;
    }
  }
}

export {};
