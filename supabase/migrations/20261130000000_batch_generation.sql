-- Batch generation (stories F-39 and F-47): a batch of N generated questions,
-- its items, and the append-only audit of every control action.

CREATE EXTENSION IF NOT EXISTS pgcrypto;

CREATE OR REPLACE FUNCTION public.set_updated_at() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  NEW.updated_at := now();
  RETURN NEW;
END
$$;

CREATE TABLE public.batch_jobs (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  user_id uuid NOT NULL REFERENCES auth.users (id) ON DELETE CASCADE,
  institution_id uuid,
  status text NOT NULL DEFAULT 'running'
    CHECK (status IN ('running', 'paused', 'completed', 'completed_with_errors', 'failed', 'cancelled')),
  total_items integer NOT NULL CHECK (total_items BETWEEN 1 AND 10000),
  completed_items integer NOT NULL DEFAULT 0 CHECK (completed_items >= 0),
  failed_items integer NOT NULL DEFAULT 0 CHECK (failed_items >= 0),
  cancelled_items integer NOT NULL DEFAULT 0 CHECK (cancelled_items >= 0),
  -- Items currently `generating`: kept beside the other counters so a progress
  -- read or notification never has to count rows.
  generating_items integer NOT NULL DEFAULT 0 CHECK (generating_items >= 0),
  config jsonb NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  started_at timestamptz,
  paused_at timestamptz,
  cancelled_at timestamptz,
  finished_at timestamptz,
  updated_at timestamptz NOT NULL DEFAULT now(),
  CONSTRAINT batch_jobs_counts_within_total
    CHECK (completed_items + failed_items + cancelled_items + generating_items <= total_items)
);

CREATE INDEX batch_jobs_user_created_idx ON public.batch_jobs (user_id, created_at DESC, id DESC);
CREATE INDEX batch_jobs_active_idx ON public.batch_jobs (status) WHERE status IN ('running', 'paused');

CREATE TRIGGER batch_jobs_set_updated_at
  BEFORE UPDATE ON public.batch_jobs
  FOR EACH ROW EXECUTE FUNCTION public.set_updated_at();

CREATE TABLE public.batch_items (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  batch_id uuid NOT NULL REFERENCES public.batch_jobs (id) ON DELETE CASCADE,
  position integer NOT NULL CHECK (position >= 0),
  status text NOT NULL DEFAULT 'pending'
    CHECK (status IN ('pending', 'generating', 'completed', 'failed', 'cancelled')),
  attempts integer NOT NULL DEFAULT 0 CHECK (attempts >= 0),
  result jsonb,
  error text,
  created_at timestamptz NOT NULL DEFAULT now(),
  started_at timestamptz,
  finished_at timestamptz,
  updated_at timestamptz NOT NULL DEFAULT now(),
  CONSTRAINT batch_items_position_unique UNIQUE (batch_id, position),
  CONSTRAINT batch_items_result_only_when_completed CHECK (result IS NULL OR status = 'completed')
);

-- The claim query takes the lowest pending positions of one batch.
CREATE INDEX batch_items_pending_idx ON public.batch_items (batch_id, position) WHERE status = 'pending';
CREATE INDEX batch_items_generating_idx ON public.batch_items (batch_id) WHERE status = 'generating';

CREATE TRIGGER batch_items_set_updated_at
  BEFORE UPDATE ON public.batch_items
  FOR EACH ROW EXECUTE FUNCTION public.set_updated_at();

CREATE TABLE public.batch_control_events (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  batch_id uuid NOT NULL REFERENCES public.batch_jobs (id) ON DELETE CASCADE,
  actor_id uuid NOT NULL REFERENCES auth.users (id) ON DELETE CASCADE,
  action text NOT NULL CHECK (action IN ('pause', 'resume', 'cancel')),
  previous_status text NOT NULL,
  new_status text NOT NULL,
  reason text CHECK (reason IS NULL OR char_length(reason) <= 500),
  idempotency_key text CHECK (idempotency_key IS NULL OR char_length(idempotency_key) <= 255),
  request_id text,
  created_at timestamptz NOT NULL DEFAULT now()
);

CREATE INDEX batch_control_events_batch_idx ON public.batch_control_events (batch_id, created_at DESC, id DESC);

-- Row-level security: owners only. The API connects as the table owner and
-- enforces ownership itself; these policies keep the same tables safe behind
-- Supabase's own APIs (PostgREST, Realtime).
ALTER TABLE public.batch_jobs ENABLE ROW LEVEL SECURITY;
ALTER TABLE public.batch_items ENABLE ROW LEVEL SECURITY;
ALTER TABLE public.batch_control_events ENABLE ROW LEVEL SECURITY;

CREATE POLICY batch_jobs_owner_select ON public.batch_jobs
  FOR SELECT TO authenticated USING (user_id = auth.uid());

CREATE POLICY batch_items_owner_select ON public.batch_items
  FOR SELECT TO authenticated USING (
    EXISTS (SELECT 1 FROM public.batch_jobs j WHERE j.id = batch_items.batch_id AND j.user_id = auth.uid())
  );

CREATE POLICY batch_control_events_owner_select ON public.batch_control_events
  FOR SELECT TO authenticated USING (
    EXISTS (SELECT 1 FROM public.batch_jobs j WHERE j.id = batch_control_events.batch_id AND j.user_id = auth.uid())
  );

GRANT SELECT ON public.batch_jobs, public.batch_items, public.batch_control_events TO authenticated;

-- Progress notifications: every change of a batch's status or counters, and of
-- an item's status, goes out on one channel after commit, in commit order. The
-- API keeps one LISTEN connection per process and fans out to SSE clients.
-- Payloads stay far below NOTIFY's 8000-byte limit: ids and numbers only.
CREATE OR REPLACE FUNCTION public.notify_batch_progress() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  IF TG_TABLE_NAME = 'batch_jobs' THEN
    PERFORM pg_notify('batch_progress', json_build_object(
      'kind', 'batch',
      'batchId', NEW.id,
      'status', NEW.status,
      'totalItems', NEW.total_items,
      'completedItems', NEW.completed_items,
      'failedItems', NEW.failed_items,
      'cancelledItems', NEW.cancelled_items,
      'generatingItems', NEW.generating_items,
      'updatedAt', NEW.updated_at
    )::text);
  ELSE
    PERFORM pg_notify('batch_progress', json_build_object(
      'kind', 'item',
      'batchId', NEW.batch_id,
      'itemId', NEW.id,
      'position', NEW.position,
      'status', NEW.status,
      'updatedAt', NEW.updated_at
    )::text);
  END IF;
  RETURN NULL;
END
$$;

CREATE TRIGGER batch_jobs_notify_progress
  AFTER INSERT OR UPDATE OF status, completed_items, failed_items, cancelled_items, generating_items
  ON public.batch_jobs
  FOR EACH ROW EXECUTE FUNCTION public.notify_batch_progress();

CREATE TRIGGER batch_items_notify_progress
  AFTER UPDATE OF status ON public.batch_items
  -- A cancel moves up to 10,000 pending items at once; the batch row's
  -- cancelled_items counter announces that, so those rows stay silent.
  FOR EACH ROW WHEN (OLD.status IS DISTINCT FROM NEW.status AND NEW.status <> 'cancelled')
  EXECUTE FUNCTION public.notify_batch_progress();
