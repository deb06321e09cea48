-- One round trip per turn of a runner's sliding window (issue 15; docs/decisions/runner-tick.md).
--
-- A runner used to store each finished item in its own statement (taking the batch row lock and
-- rewriting the batch row's counters per item) and to claim the next ones in a five-round-trip
-- transaction (BEGIN, lock, claim, count, COMMIT). This function does both in one call and one
-- transaction: it takes the batch row lock first (the same lock, in the same order, as every other
-- writer: lockBatchSql), stores every item that finished since the last call, claims up to
-- `p_claim` pending items if the batch is running and the lease is the caller's, and moves the
-- counters once. The statements run one after the other, each with its own snapshot taken after
-- the lock is held, so the claim sees every control change committed before the lock was granted.
--
-- p_finished: [{"id", "status": "completed" | "failed", "result": {...} | null, "error": text | null}].
-- Stored only while the item is still `generating` and claimed by p_runner_id (a runner whose lease
-- was taken over cannot store an item twice or overwrite one claimed again).
-- Returns {"status", "leaseHeld", "stored": [ids stored], "items": [{"id", "position",
-- "attempts", "earlierAttempts"}]} (claimed items by position; status null: no such batch).
CREATE FUNCTION public.runner_tick(
  p_batch_id uuid,
  p_runner_id text,
  p_finished jsonb,
  p_claim integer,
  p_only_after_resume boolean
) RETURNS jsonb
LANGUAGE plpgsql SET search_path = public AS $$
DECLARE
  batch record;
  stored jsonb := '[]'::jsonb;
  n_completed integer := 0;
  n_failed integer := 0;
  claimed jsonb := '[]'::jsonb;
  n_claimed integer := 0;
BEGIN
  SELECT status, runner_id, resumed_at INTO batch FROM batch_jobs WHERE id = p_batch_id FOR NO KEY UPDATE;
  IF NOT FOUND THEN
    RETURN jsonb_build_object('status', NULL, 'leaseHeld', false, 'stored', stored, 'items', claimed);
  END IF;

  IF jsonb_array_length(p_finished) > 0 THEN
    WITH done AS (
      UPDATE batch_items AS item
      SET status = finished.status, result = finished.result, error = finished.error, finished_at = now(), claimed_by = NULL
      FROM jsonb_to_recordset(p_finished) AS finished(id uuid, status text, result jsonb, error text)
      WHERE item.id = finished.id AND item.batch_id = p_batch_id AND item.status = 'generating'
        AND item.claimed_by = p_runner_id AND finished.status IN ('completed', 'failed')
      RETURNING item.id, item.status
    )
    SELECT coalesce(jsonb_agg(done.id), '[]'::jsonb),
           count(*) FILTER (WHERE done.status = 'completed'),
           count(*) FILTER (WHERE done.status = 'failed')
      INTO stored, n_completed, n_failed
      FROM done;
  END IF;

  -- Pause and cancel are enforced here: only a running batch hands out items, and only to the
  -- lease holder (with p_only_after_resume, only to answer a resume not yet taken up).
  IF batch.status = 'running' AND batch.runner_id IS NOT DISTINCT FROM p_runner_id AND p_claim > 0
     AND (NOT p_only_after_resume OR batch.resumed_at IS NOT NULL) THEN
    WITH taken AS (
      UPDATE batch_items
      SET status = 'generating', attempts = attempts + 1, started_at = now(), error = NULL, claimed_by = p_runner_id
      WHERE id IN (
        SELECT id FROM batch_items
        WHERE batch_id = p_batch_id AND status = 'pending'
        ORDER BY position
        LIMIT p_claim
      )
      RETURNING id, position, attempts,
        (SELECT coalesce(sum((entry ->> 'attempts')::int), 0) FROM jsonb_array_elements(attempt_history) AS entry)::int AS earlier
    )
    SELECT coalesce(jsonb_agg(jsonb_build_object(
             'id', taken.id, 'position', taken.position, 'attempts', taken.attempts, 'earlierAttempts', taken.earlier)
             ORDER BY taken.position), '[]'::jsonb),
           count(*)
      INTO claimed, n_claimed
      FROM taken;
  END IF;

  IF n_completed + n_failed + n_claimed > 0 THEN
    UPDATE batch_jobs SET
      completed_items = completed_items + n_completed,
      failed_items = failed_items + n_failed,
      generating_items = generating_items - n_completed - n_failed + n_claimed,
      -- An item started: whatever resume armed the watchdog has been taken up.
      resumed_at = CASE WHEN n_claimed > 0 THEN NULL ELSE resumed_at END
    WHERE id = p_batch_id;
  END IF;

  RETURN jsonb_build_object(
    'status', batch.status,
    'leaseHeld', batch.runner_id IS NOT DISTINCT FROM p_runner_id,
    'stored', stored,
    'items', claimed);
END
$$;

-- Only the API (the owner) calls it: not callable through Supabase's own APIs (PostgREST's RPC).
REVOKE ALL ON FUNCTION public.runner_tick(uuid, text, jsonb, integer, boolean) FROM PUBLIC;
DO $$
BEGIN
  IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'anon') THEN
    REVOKE ALL ON FUNCTION public.runner_tick(uuid, text, jsonb, integer, boolean) FROM anon;
  END IF;
  IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'authenticated') THEN
    REVOKE ALL ON FUNCTION public.runner_tick(uuid, text, jsonb, integer, boolean) FROM authenticated;
  END IF;
END
$$;
