-- Idempotency-Key on the control POSTs: the first successful response per
-- (user, batch, key) is kept for 24 hours and replayed to a retry.
CREATE TABLE public.control_idempotency_keys (
  user_id uuid NOT NULL REFERENCES auth.users (id) ON DELETE CASCADE,
  batch_id uuid NOT NULL REFERENCES public.batch_jobs (id) ON DELETE CASCADE,
  idempotency_key text NOT NULL CHECK (char_length(idempotency_key) BETWEEN 1 AND 255),
  action text NOT NULL CHECK (action IN ('pause', 'resume', 'cancel')),
  status_code integer NOT NULL,
  response jsonb NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (user_id, batch_id, idempotency_key)
);

CREATE INDEX control_idempotency_keys_created_idx ON public.control_idempotency_keys (created_at);

ALTER TABLE public.control_idempotency_keys ENABLE ROW LEVEL SECURITY;
