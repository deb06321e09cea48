import type { AuthUser } from "@batchgen/types";
import { BatchAccessDeniedError, BatchNotFoundError } from "../../errors/batch.errors.ts";
import { isUuid } from "../../lib/cursor.ts";

/**
 * The one ownership rule for every batch route: a malformed or unknown id is 404, someone
 * else's batch is 403. `load` reads the batch however the caller stores it.
 */
export async function findOwnedBatch<T extends { readonly ownerId: string }>(
  user: AuthUser,
  batchId: string,
  load: (batchId: string) => Promise<T | null>,
): Promise<T> {
  if (!isUuid(batchId)) throw new BatchNotFoundError(batchId);
  const batch = await load(batchId);
  if (!batch) throw new BatchNotFoundError(batchId);
  if (batch.ownerId !== user.sub) throw new BatchAccessDeniedError(batchId);
  return batch;
}
