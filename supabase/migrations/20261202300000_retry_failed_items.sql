-- Retry the failed items of a finished batch (issue 13; docs/decisions/retry-failed-items.md).
-- A retried item goes back to pending with a fresh attempt budget; what its earlier attempts ended
-- with is kept in attempt_history (oldest first), and its last error stays visible until it is
-- claimed again.
ALTER TABLE public.batch_items ADD COLUMN attempt_history jsonb NOT NULL DEFAULT '[]'::jsonb;

ALTER TABLE public.batch_control_events DROP CONSTRAINT batch_control_events_action_check;
ALTER TABLE public.batch_control_events
  ADD CONSTRAINT batch_control_events_action_check CHECK (action IN ('pause', 'resume', 'cancel', 'retry_failed', 'complete'));
ALTER TABLE public.control_idempotency_keys DROP CONSTRAINT control_idempotency_keys_action_check;
ALTER TABLE public.control_idempotency_keys
  ADD CONSTRAINT control_idempotency_keys_action_check CHECK (action IN ('pause', 'resume', 'cancel', 'retry_failed'));
