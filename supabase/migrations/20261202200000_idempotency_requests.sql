-- Idempotency-Key, completed (docs/decisions/idempotency-keys.md).
--
-- 1. A control key remembers the request it answered, in canonical form ({"action", "reason"}):
--    the same key with another action or another reason is 422 IDEMPOTENCY_CONFLICT. Rows written
--    before this migration take their reason from the audit row written in the same transaction.
ALTER TABLE public.control_idempotency_keys ADD COLUMN request jsonb;

UPDATE public.control_idempotency_keys k
   SET request = jsonb_build_object('action', k.action, 'reason', (
         SELECT e.reason FROM public.batch_control_events e
          WHERE e.batch_id = k.batch_id AND e.actor_id = k.user_id
            AND e.idempotency_key = k.idempotency_key AND e.action = k.action
          ORDER BY e.created_at DESC
          LIMIT 1));

ALTER TABLE public.control_idempotency_keys ALTER COLUMN request SET NOT NULL;

-- 2. POST /generation/batch accepts an Idempotency-Key: the first 201 per (user, key) is kept for
--    24 hours and replayed. The create transaction inserts this row first, so the primary key makes
--    a concurrent create with the same key wait for the first one and then replay it (one batch).
--    batch_id, status_code and response are filled in by the same transaction, before it commits:
--    a committed row always has them.
CREATE TABLE public.batch_create_idempotency_keys (
  user_id uuid NOT NULL REFERENCES auth.users (id) ON DELETE CASCADE,
  idempotency_key text NOT NULL CHECK (char_length(idempotency_key) BETWEEN 1 AND 255),
  request jsonb NOT NULL,
  batch_id uuid REFERENCES public.batch_jobs (id) ON DELETE CASCADE,
  status_code integer,
  response jsonb,
  created_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (user_id, idempotency_key),
  CHECK ((batch_id IS NULL) = (response IS NULL) AND (status_code IS NULL) = (response IS NULL))
);

CREATE INDEX batch_create_idempotency_keys_created_idx ON public.batch_create_idempotency_keys (created_at);

ALTER TABLE public.batch_create_idempotency_keys ENABLE ROW LEVEL SECURITY;
