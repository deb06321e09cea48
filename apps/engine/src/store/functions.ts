import type { PoolClient } from "@batchgen/db";
import type { Tx } from "./tx.ts";

/** A function as the engine keeps it after sync: only what it supports, normalised. */
export interface FunctionDefinition {
  readonly id: string;
  readonly name: string;
  readonly url: string;
  readonly maxAttempts: number;
  readonly triggers: readonly { readonly event: string; readonly expression?: string }[];
  readonly cancel: readonly { readonly event: string; readonly if?: string; readonly timeoutMs?: number }[];
  readonly concurrency: readonly { readonly limit: number; readonly key?: string }[];
}

export interface SyncedApp {
  readonly appId: string;
  readonly url: string;
  readonly sdk?: string;
  readonly functions: readonly FunctionDefinition[];
}

/**
 * Stores an app's functions; functions of the app missing from this sync are retired. Returns
 * whether anything changed (the app's URL or any function).
 */
export async function saveApp(tx: Tx, app: SyncedApp): Promise<boolean> {
  // Syncs of one app are serialised, and what "before" reads is taken after the lock: two
  // overlapping syncs of a changed app (the periodic re-sync and a start-up or manual one) would
  // otherwise both compare against the old config and both report (and log) the change.
  await tx.client.query(`SELECT pg_advisory_xact_lock(hashtext('engine.apps'), hashtext($1))`, [app.appId]);
  const { rows: before } = await tx.client.query<{ url: string; functions: string | null }>(
    `SELECT a.url, (SELECT string_agg(f.config::text, ',' ORDER BY f.id) FROM engine.functions f
       WHERE f.app_id = a.id AND f.deleted_at IS NULL) AS functions
     FROM engine.apps a WHERE a.id = $1 FOR UPDATE`,
    [app.appId],
  );
  await tx.client.query(
    `INSERT INTO engine.apps (id, url, sdk, synced_at) VALUES ($1, $2, $3, now())
     ON CONFLICT (id) DO UPDATE SET url = excluded.url, sdk = excluded.sdk, synced_at = now()`,
    [app.appId, app.url, app.sdk ?? null],
  );
  for (const fn of app.functions) {
    await tx.client.query(
      `INSERT INTO engine.functions (id, app_id, name, url, config, max_attempts, deleted_at, updated_at)
       VALUES ($1, $2, $3, $4, $5, $6, NULL, now())
       ON CONFLICT (id) DO UPDATE SET app_id = excluded.app_id, name = excluded.name, url = excluded.url,
         config = excluded.config, max_attempts = excluded.max_attempts, deleted_at = NULL, updated_at = now()`,
      [fn.id, app.appId, fn.name, fn.url, JSON.stringify(fn), fn.maxAttempts],
    );
  }
  await tx.client.query(`UPDATE engine.functions SET deleted_at = now() WHERE app_id = $1 AND deleted_at IS NULL AND NOT (id = ANY($2))`, [
    app.appId,
    app.functions.map((fn) => fn.id),
  ]);
  const { rows: after } = await tx.client.query<{ functions: string | null }>(
    `SELECT string_agg(config::text, ',' ORDER BY id) AS functions FROM engine.functions WHERE app_id = $1 AND deleted_at IS NULL`,
    [app.appId],
  );
  const previous = before[0];
  return !previous || previous.url !== app.url || previous.functions !== (after[0]?.functions ?? null);
}

/** Active functions with a trigger on `eventName` (exact, or a trailing-wildcard prefix like "app/*"). */
export async function findTriggeredFunctions(client: PoolClient, eventName: string): Promise<FunctionDefinition[]> {
  const { rows } = await client.query<{ config: FunctionDefinition }>(
    `SELECT config FROM engine.functions
     WHERE deleted_at IS NULL AND EXISTS (
       SELECT 1 FROM jsonb_array_elements(config->'triggers') t
       WHERE t->>'event' = $1 OR (right(t->>'event', 1) = '*' AND starts_with($1, left(t->>'event', -1))))
     ORDER BY id`,
    [eventName],
  );
  return rows.map((row) => row.config);
}
