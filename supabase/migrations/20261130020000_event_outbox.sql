-- Transactional outbox: a state change and the event announcing it are
-- written in the same transaction, so they never come apart. A dispatcher in
-- the API sends pending rows to Inngest (at once after commit, and again on a
-- timer until it succeeds); event ids make redelivery harmless.
CREATE TABLE public.event_outbox (
  id bigserial PRIMARY KEY,
  event_id text NOT NULL UNIQUE,
  name text NOT NULL,
  data jsonb NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  sent_at timestamptz,
  attempts integer NOT NULL DEFAULT 0,
  next_attempt_at timestamptz NOT NULL DEFAULT now(),
  last_error text
);

CREATE INDEX event_outbox_unsent_idx ON public.event_outbox (next_attempt_at, id) WHERE sent_at IS NULL;

-- Not exposed through Supabase's APIs: no policies, RLS on.
ALTER TABLE public.event_outbox ENABLE ROW LEVEL SECURITY;
