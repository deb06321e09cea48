import canonicalize from "canonicalize";
import type { Pool } from "@batchgen/db";
import { signPayload } from "../executor/signing.ts";
import { SyncRejectedError } from "./function-config.ts";
import { registerApp } from "./register.ts";

export type SyncOutcome =
  | { readonly ok: true; readonly functionIds: readonly string[] }
  | { readonly ok: false; readonly reachable: boolean; readonly message: string };

/**
 * Syncs an app by pulling its config (in-band sync: a PUT the SDK answers with the whole config).
 * An SDK with in-band sync disabled answers out-of-band instead, after POSTing /fn/register to
 * its INNGEST_BASE_URL; both end in registerApp.
 */
export async function syncAppOnce(pool: Pool, log: (line: string) => void, appUrl: string, signingKey?: string): Promise<SyncOutcome> {
  const body = canonicalize({ url: appUrl }) ?? "{}";
  const headers: Record<string, string> = {
    "content-type": "application/json",
    "x-inngest-sync-kind": "in_band",
    "x-inngest-server-kind": signingKey ? "cloud" : "dev",
  };
  if (signingKey) headers["x-inngest-signature"] = signPayload(body, signingKey);
  let response: Response;
  let text: string;
  try {
    response = await fetch(appUrl, { method: "PUT", headers, body, signal: AbortSignal.timeout(30_000) });
    text = await response.text();
  } catch (error) {
    return { ok: false, reachable: false, message: (error as Error).message };
  }
  let parsed: Record<string, unknown> = {};
  try {
    parsed = JSON.parse(text) as Record<string, unknown>;
  } catch {
    return {
      ok: false,
      reachable: response.headers.has("x-inngest-sdk"),
      message: `sync answered HTTP ${response.status} with a body that is not JSON`,
    };
  }
  if (response.headers.get("x-inngest-sync-kind") === "in_band" && response.ok) {
    try {
      const { functionIds } = await registerApp(pool, log, {
        appId: parsed.app_id,
        url: parsed.url,
        sdk: parsed.sdk,
        functions: parsed.functions,
      });
      return { ok: true, functionIds };
    } catch (error) {
      if (error instanceof SyncRejectedError) return { ok: false, reachable: true, message: error.message };
      throw error;
    }
  }
  if (response.ok) return { ok: true, functionIds: [] };
  const message = typeof parsed.message === "string" ? parsed.message : `sync answered HTTP ${response.status}`;
  return { ok: false, reachable: response.headers.has("x-inngest-sdk") || response.status !== 404, message };
}

/** Retries until the app answers; a rejection (bad config) is logged and not retried. */
export async function syncAppUntilReachable(
  pool: Pool,
  log: (line: string) => void,
  appUrl: string,
  signingKey: string | undefined,
  isClosing: () => boolean,
): Promise<SyncOutcome> {
  for (let tries = 1; ; tries += 1) {
    let outcome: SyncOutcome;
    try {
      outcome = await syncAppOnce(pool, log, appUrl, signingKey);
    } catch (error) {
      // The database failed while storing the config: try again like an unreachable app.
      outcome = { ok: false, reachable: false, message: (error as Error).message };
    }
    if (outcome.ok || outcome.reachable || isClosing()) {
      if (!outcome.ok) log(`engine could not sync ${appUrl}: ${outcome.message}`);
      return outcome;
    }
    if (tries === 1 || tries % 20 === 0) log(`engine waiting for app at ${appUrl} to sync (${outcome.message})`);
    await new Promise((resolve) => setTimeout(resolve, Math.min(2_000, 100 * tries)));
  }
}
