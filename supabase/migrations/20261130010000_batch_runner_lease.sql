-- The orchestrator generates a batch's items inside one step at a time. A
-- step that crashed (or lost its connection to the engine) may still be
-- running somewhere, so each step holds a lease on its batch: claims require
-- the lease, and a new step may take over only after the old one has missed
-- its heartbeats. Items a dead runner left in `generating` go back to
-- `pending` (at-least-once; documented in docs/decisions/).
ALTER TABLE public.batch_jobs
  ADD COLUMN runner_id text,
  ADD COLUMN runner_heartbeat_at timestamptz;
