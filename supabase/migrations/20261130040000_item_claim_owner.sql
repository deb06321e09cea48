-- Which runner claimed an item. Completing, failing or retrying an item requires the same runner,
-- so a runner whose lease was taken over (a "zombie" that kept running) cannot touch items the new
-- runner has claimed again.
ALTER TABLE public.batch_items ADD COLUMN claimed_by text;

-- Finishing a cancelled batch changes no watched column; listing status in the SET list of that
-- update (see finalizeCancelledBatch) makes the progress trigger fire so live pages see it end.

-- The ETA reads the latest finishes of one batch.
CREATE INDEX batch_items_finished_idx ON public.batch_items (batch_id, finished_at DESC)
  WHERE status IN ('completed', 'failed');
