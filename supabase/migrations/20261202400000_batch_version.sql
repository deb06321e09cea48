-- A version per batch row, bumped by every change a user can see, in the order the changes commit
-- (the BEFORE UPDATE trigger runs once the row lock is held). A live stream holds back the changes
-- that arrive while it reads its snapshot and drops those the snapshot already contains: by
-- version, not by updated_at, which is the time a transaction began and so can be older for a
-- change that committed later.
ALTER TABLE public.batch_jobs ADD COLUMN version bigint NOT NULL DEFAULT 0;

CREATE OR REPLACE FUNCTION public.set_batch_updated_at() RETURNS trigger
LANGUAGE plpgsql SET search_path = public AS $$
BEGIN
  IF (to_jsonb(NEW) - 'runner_id' - 'runner_heartbeat_at' - 'updated_at' - 'version'
        - 'orchestrator_epoch' - 'orchestrator_started_at' - 'resumed_at')
     IS DISTINCT FROM (to_jsonb(OLD) - 'runner_id' - 'runner_heartbeat_at' - 'updated_at' - 'version'
        - 'orchestrator_epoch' - 'orchestrator_started_at' - 'resumed_at') THEN
    NEW.updated_at := now();
    NEW.version := OLD.version + 1;
  ELSE
    NEW.updated_at := OLD.updated_at;
    NEW.version := OLD.version;
  END IF;
  RETURN NEW;
END
$$;

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
      'updatedAt', NEW.updated_at,
      'version', NEW.version
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
