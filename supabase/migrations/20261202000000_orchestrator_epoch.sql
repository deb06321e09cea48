-- One orchestrator chain per batch (docs/decisions/one-orchestrator-per-batch.md).
--
-- orchestrator_epoch is a fencing token: whoever starts a chain (creation, the resume watchdog,
-- the stall sweeper) bumps it in the same transaction that writes the chain's `batch.started` to
-- the outbox, and the event carries it. A run whose epoch is no longer the batch's returns at once.
-- orchestrator_started_at rate-limits restarts; resumed_at arms the resume watchdog until a runner
-- of the current chain takes the lease.
ALTER TABLE public.batch_jobs
  ADD COLUMN orchestrator_epoch integer NOT NULL DEFAULT 0,
  ADD COLUMN orchestrator_started_at timestamptz,
  ADD COLUMN resumed_at timestamptz;

CREATE INDEX batch_jobs_resumed_idx ON public.batch_jobs (resumed_at) WHERE resumed_at IS NOT NULL;

-- System transitions in the history: a paused batch whose last items finished with nothing left
-- to do completes by itself; its history row has no actor and the action 'complete'.
ALTER TABLE public.batch_control_events ALTER COLUMN actor_id DROP NOT NULL;
ALTER TABLE public.batch_control_events DROP CONSTRAINT batch_control_events_action_check;
ALTER TABLE public.batch_control_events
  ADD CONSTRAINT batch_control_events_action_check CHECK (action IN ('pause', 'resume', 'cancel', 'complete')),
  ADD CONSTRAINT batch_control_events_actor_unless_system CHECK (actor_id IS NOT NULL OR action = 'complete');

-- The fencing columns are bookkeeping, not something a user sees: like the runner's heartbeat,
-- they must not move updated_at (the sweeper reads updated_at as "the last visible change").
CREATE OR REPLACE FUNCTION public.set_batch_updated_at() RETURNS trigger
LANGUAGE plpgsql SET search_path = public AS $$
BEGIN
  IF (to_jsonb(NEW) - 'runner_id' - 'runner_heartbeat_at' - 'updated_at'
        - 'orchestrator_epoch' - 'orchestrator_started_at' - 'resumed_at')
     IS DISTINCT FROM (to_jsonb(OLD) - 'runner_id' - 'runner_heartbeat_at' - 'updated_at'
        - 'orchestrator_epoch' - 'orchestrator_started_at' - 'resumed_at') THEN
    NEW.updated_at := now();
  ELSE
    NEW.updated_at := OLD.updated_at;
  END IF;
  RETURN NEW;
END
$$;

-- The sweeper looks for cancelled batches that never got finished_at (their watcher died).
CREATE INDEX batch_jobs_cancelled_unfinished_idx ON public.batch_jobs (cancelled_at) WHERE status = 'cancelled' AND finished_at IS NULL;
