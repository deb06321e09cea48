import type { PoolClient } from "@batchgen/db";
import type { BatchConfig, BatchDetail } from "@batchgen/types";
import { IDEMPOTENCY_TTL } from "../lib/idempotency.ts";

/** The first answer to a create with this key, and the request it answered. */
export interface StoredCreateResponse {
  readonly request: BatchConfig;
  readonly batchId: string;
  readonly statusCode: number;
  readonly response: BatchDetail;
  /** The response as the JSON text that was sent (and is sent again). */
  readonly responseJson: string;
}

/** Claimed: this transaction creates the batch. Otherwise the key's first answer (committed). */
export type CreateKeyClaim = { readonly claimed: true } | { readonly claimed: false; readonly stored: StoredCreateResponse };

/**
 * Inside the create transaction, before anything else: takes (user, key) for this transaction.
 * The primary key decides between concurrent creates with one key — the second insert waits for
 * the first transaction and, once it has committed, finds its row. A row past the 24 h window is
 * taken over as if it were not there.
 */
export async function claimCreateKey(client: PoolClient, userId: string, key: string, request: BatchConfig): Promise<CreateKeyClaim> {
  const inserted = await client.query(
    `INSERT INTO batch_create_idempotency_keys (user_id, idempotency_key, request)
     VALUES ($1, $2, $3)
     ON CONFLICT (user_id, idempotency_key) DO UPDATE
       SET request = EXCLUDED.request, batch_id = NULL, status_code = NULL, response = NULL, created_at = now()
       WHERE batch_create_idempotency_keys.created_at <= now() - $4::interval`,
    [userId, key, JSON.stringify(request), IDEMPOTENCY_TTL],
  );
  if (inserted.rowCount === 1) return { claimed: true };
  // ON CONFLICT DO UPDATE locked the committed row even though it was not updated: it stays as read.
  const { rows } = await client.query<{ request: BatchConfig; batch_id: string | null; status_code: number | null; response: string | null }>(
    // ::text: the stored text as written (the column is json), not a value to serialize again.
    `SELECT request, batch_id, status_code, response::text AS response FROM batch_create_idempotency_keys WHERE user_id = $1 AND idempotency_key = $2`,
    [userId, key],
  );
  const row = rows[0];
  if (!row || row.batch_id === null || row.status_code === null || row.response === null) {
    throw new Error(`Idempotency-Key row for a create vanished or is incomplete (user ${userId})`);
  }
  return {
    claimed: false,
    stored: { request: row.request, batchId: row.batch_id, statusCode: row.status_code, response: JSON.parse(row.response) as BatchDetail, responseJson: row.response },
  };
}

/** Records the answer of the claiming transaction, before it commits: `responseJson` is the text it sends. */
export async function completeCreateKey(
  client: PoolClient,
  userId: string,
  key: string,
  answer: { batchId: string; statusCode: number; responseJson: string },
): Promise<void> {
  await client.query(
    `UPDATE batch_create_idempotency_keys SET batch_id = $3, status_code = $4, response = $5
     WHERE user_id = $1 AND idempotency_key = $2`,
    [userId, key, answer.batchId, answer.statusCode, answer.responseJson],
  );
}
