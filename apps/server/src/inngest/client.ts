import { Inngest } from "inngest";

export const INNGEST_APP_ID = "batchgen";

/**
 * The SDK reads INNGEST_DEV, INNGEST_BASE_URL, INNGEST_SIGNING_KEY and
 * INNGEST_EVENT_KEY itself, so pointing the app at the local engine, Inngest
 * Cloud or a self-hosted Inngest server is a change of env vars alone.
 * Checkpointing stays off for this app although the engine serves it; off, it
 * behaves the same on Inngest. The late park after a pause once measured with
 * it on was an engine bug (fixed; docs/decisions/engine-checkpointing.md), so
 * turning it on is open, but needs the whole server test suite run with it.
 */
export function createInngestClient(options: { id?: string; baseUrl?: string; isDev?: boolean } = {}): Inngest {
  return new Inngest({
    id: options.id ?? INNGEST_APP_ID,
    checkpointing: false,
    ...(options.baseUrl ? { baseUrl: options.baseUrl } : {}),
    ...(options.isDev === undefined ? {} : { isDev: options.isDev }),
  });
}
