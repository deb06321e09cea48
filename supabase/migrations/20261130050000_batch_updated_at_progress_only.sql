-- updated_at on a batch means "something a user can see changed": a runner's heartbeat (every few
-- seconds while it generates) must not move it.
CREATE OR REPLACE FUNCTION public.set_batch_updated_at() RETURNS trigger
LANGUAGE plpgsql SET search_path = public AS $$
BEGIN
  IF (to_jsonb(NEW) - 'runner_id' - 'runner_heartbeat_at' - 'updated_at')
     IS DISTINCT FROM (to_jsonb(OLD) - 'runner_id' - 'runner_heartbeat_at' - 'updated_at') THEN
    NEW.updated_at := now();
  ELSE
    NEW.updated_at := OLD.updated_at;
  END IF;
  RETURN NEW;
END
$$;

DROP TRIGGER batch_jobs_set_updated_at ON public.batch_jobs;
CREATE TRIGGER batch_jobs_set_updated_at
  BEFORE UPDATE ON public.batch_jobs
  FOR EACH ROW EXECUTE FUNCTION public.set_batch_updated_at();
