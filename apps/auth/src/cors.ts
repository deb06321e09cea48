import type { RequestHandler } from "express";
import { API_VERSION_HEADER } from "./errors.ts";

/** Where `pnpm dev` serves the web app; the browser calls the stand-in directly from there. */
export const DEFAULT_ALLOWED_ORIGINS: readonly string[] = [
  "http://127.0.0.1:3000",
  "http://localhost:3000",
];

/**
 * Every request header supabase-js (auth-js, postgrest-js, trace propagation)
 * may send; a header missing here fails the browser's preflight.
 */
export const ALLOWED_REQUEST_HEADERS: readonly string[] = [
  "apikey",
  "authorization",
  "content-type",
  "x-client-info",
  "x-supabase-api-version",
  "x-retry-count",
  "traceparent",
  "tracestate",
  "baggage",
];

const ALLOWED_METHODS = "GET, POST, PUT, PATCH, DELETE, OPTIONS";

/**
 * CORS for an explicit list of origins. The response must expose
 * `X-Supabase-Api-Version`: supabase-js only reads the error `code` of a
 * 2024-01-01 response when it can see that header, so hiding it turns every
 * `error.code` into undefined in the browser.
 */
export function corsForOrigins(
  allowedOrigins: readonly string[],
): RequestHandler {
  const allowed = new Set(
    allowedOrigins.map((origin) => origin.replace(/\/+$/, "")),
  );
  return (req, res, next) => {
    const origin = req.get("origin");
    res.vary("Origin");
    const permitted = origin !== undefined && allowed.has(origin);
    if (permitted) {
      res.set("Access-Control-Allow-Origin", origin);
      res.set("Access-Control-Allow-Credentials", "true");
      res.set("Access-Control-Expose-Headers", API_VERSION_HEADER);
    }
    if (req.method === "OPTIONS" && req.get("access-control-request-method")) {
      if (permitted) {
        res.set("Access-Control-Allow-Methods", ALLOWED_METHODS);
        res.set(
          "Access-Control-Allow-Headers",
          ALLOWED_REQUEST_HEADERS.join(", "),
        );
        res.set("Access-Control-Max-Age", "600");
      }
      // Without the allow headers the browser refuses a foreign origin; the
      // status stays 204 so the refusal is the browser's, as with any CORS server.
      res.status(204).end();
      return;
    }
    next();
  };
}
