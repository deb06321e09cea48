-- Batches already active when the epoch migration ran were started by the previous code: their runs
-- carry no epoch (epoch 0) and no cancelOn for a newer chain. Start epoch 1 for each of them now;
-- its batch.started is delivered by the outbox, and every older run returns at its next step (the
-- previous code's parked runs wake every 10 s, so they are gone within seconds).
WITH restarted AS (
  UPDATE public.batch_jobs SET orchestrator_epoch = 1, orchestrator_started_at = now()
  WHERE status IN ('running', 'paused') AND orchestrator_epoch = 0
  RETURNING id
)
INSERT INTO public.event_outbox (event_id, name, data)
SELECT 'batch-started-' || id || '-e1', 'batch.started', json_build_object('batchId', id, 'epoch', 1)
FROM restarted
ON CONFLICT (event_id) DO NOTHING;
