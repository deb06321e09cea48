import type { Pool } from "@batchgen/db";
import { saveApp } from "../store/functions.ts";
import { inTransaction } from "../store/tx.ts";
import { parseFunctionConfig, SyncRejectedError } from "./function-config.ts";

export interface RegisterInput {
  readonly appId: unknown;
  readonly url: unknown;
  readonly sdk?: unknown;
  readonly functions: unknown;
}

/** The SDK release the engine's conformance suite drives; others are synced with a warning. */
export const VERIFIED_SDK = "js:v4.24.0";

/** Validates every function first (a sync is all or nothing), then stores the app. */
export async function registerApp(
  pool: Pool,
  log: (line: string) => void,
  input: RegisterInput,
): Promise<{ appId: string; functionIds: string[]; modified: boolean }> {
  if (typeof input.appId !== "string" || !input.appId) throw new SyncRejectedError("sync request has no app id");
  if (typeof input.url !== "string" || !input.url) throw new SyncRejectedError(`app "${input.appId}": sync request has no url`);
  if (!Array.isArray(input.functions)) throw new SyncRejectedError(`app "${input.appId}": sync request has no function list`);
  const functions = input.functions.map((raw) => parseFunctionConfig(raw));
  const appId = input.appId;
  const url = input.url;
  const { value: modified } = await inTransaction(pool, log, (tx) =>
    saveApp(tx, { appId, url, sdk: typeof input.sdk === "string" ? input.sdk : undefined, functions }),
  );
  if (modified) {
    log(`engine synced app ${appId} at ${url}: ${functions.map((fn) => fn.id).join(", ") || "no functions"}`);
    if (typeof input.sdk === "string" && input.sdk !== VERIFIED_SDK) {
      log(`engine warning: app ${appId} uses SDK ${input.sdk}; the engine is verified against ${VERIFIED_SDK} (run its conformance suite)`);
    }
  }
  return { appId, functionIds: functions.map((fn) => fn.id), modified };
}
