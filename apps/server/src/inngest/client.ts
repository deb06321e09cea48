import { Inngest } from "inngest";

export const INNGEST_APP_ID = "batchgen";

/**
 * The SDK reads INNGEST_DEV, INNGEST_BASE_URL, INNGEST_SIGNING_KEY and
 * INNGEST_EVENT_KEY itself, so pointing the app at the local engine, Inngest
 * Cloud or a self-hosted Inngest server is a change of env vars alone.
 * Checkpointing is the SDK's default (on), as on Inngest: the late park after a
 * pause once measured with it on was an engine bug, fixed, and the whole server
 * suite and the fault runs pass with it (docs/decisions/engine-checkpointing.md).
 */
export function createInngestClient(options: { id?: string; baseUrl?: string; isDev?: boolean } = {}): Inngest {
  return new Inngest({
    id: options.id ?? INNGEST_APP_ID,
    ...(options.baseUrl ? { baseUrl: options.baseUrl } : {}),
    ...(options.isDev === undefined ? {} : { isDev: options.isDev }),
  });
}
