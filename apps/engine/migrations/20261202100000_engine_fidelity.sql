-- Fidelity with Inngest's server (see apps/engine/README.md, "Protocol features").
--
-- Jobs carry the key Inngest gives its queue items (sent as x-inngest-job-id, stable across the
-- retries of one job). NULL on rows queued before this migration: the worker derives one.
ALTER TABLE engine.jobs ADD COLUMN job_key text;

-- Run creation is deduplicated per function by the event's id (Inngest's run idempotency key,
-- consts.FunctionIdempotencyPeriod = 24 h); the event itself is always stored and always matched
-- against waits and cancellations. engine.events.id is now the server's internal id (what the
-- event API answers); the event's own `id` stays in its body.
CREATE TABLE engine.run_keys (
  function_id text NOT NULL,
  key text NOT NULL,
  run_id text NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (function_id, key)
);
CREATE INDEX run_keys_created_at_idx ON engine.run_keys (created_at);
INSERT INTO engine.run_keys (function_id, key, run_id, created_at)
SELECT DISTINCT ON (function_id, event_id) function_id, event_id, id, created_at FROM engine.runs
WHERE created_at > now() - interval '24 hours'
ORDER BY function_id, event_id, id;

CREATE INDEX runs_event_idx ON engine.runs (event_id);

-- engine.apply_step_run without the step-count check (the limit is now checked before each
-- request to the app, as Inngest's validate.go does) and with the next discovery's job key:
-- "<function>:<run>-<step>" after a step, "<run>-<step>-discover" when it ends a set of parallel steps.
DROP FUNCTION engine.apply_step_run(bigint, integer, text, text, text, jsonb, integer, integer, integer);

CREATE FUNCTION engine.apply_step_run(
  p_job bigint,
  p_owner integer,
  p_run text,
  p_step text,
  p_name text,
  p_memo jsonb,
  p_version integer,
  p_attempt integer
) RETURNS jsonb
LANGUAGE plpgsql AS $$
DECLARE
  r engine.runs%ROWTYPE;
  v_version integer;
  v_pending text[];
  v_discover boolean;
  v_idle boolean;
  v_position integer;
  v_job jsonb;
  v_owner integer;
  v_queued boolean := false;
  v_key text;
BEGIN
  SELECT * INTO r FROM engine.runs WHERE id = p_run FOR UPDATE;
  IF NOT FOUND OR r.status <> 'running' OR r.rediscover THEN
    RETURN NULL;
  END IF;
  DELETE FROM engine.jobs WHERE id = p_job AND lease_owner = p_owner;
  IF NOT FOUND THEN
    RETURN jsonb_build_object('outcome', 'dropped');
  END IF;

  v_version := COALESCE(p_version, r.req_version);
  v_pending := array_remove(r.pending, p_step);
  v_discover := cardinality(v_pending) = 0 OR r.race OR v_version = 1;
  v_idle := v_discover AND cardinality(v_pending) = 0;
  v_key := CASE WHEN cardinality(r.pending) > 0 THEN p_run || '-' || p_step || '-discover'
                ELSE r.function_id || ':' || p_run || '-' || p_step END;

  INSERT INTO engine.steps AS s (run_id, step_id, op, name, memo, position, completed_at, attempts)
  VALUES (p_run, p_step, 'StepRun', p_name, p_memo, r.stack_size, clock_timestamp(), p_attempt + 1)
  ON CONFLICT (run_id, step_id) DO UPDATE SET memo = excluded.memo, position = excluded.position,
    completed_at = excluded.completed_at, op = excluded.op, attempts = excluded.attempts
  WHERE s.memo IS NULL
  RETURNING position INTO v_position;

  UPDATE engine.runs SET
    stack_size = stack_size + CASE WHEN v_position IS NULL THEN 0 ELSE 1 END,
    req_version = v_version,
    pending = v_pending,
    disable_immediate = CASE WHEN v_idle THEN false ELSE disable_immediate END,
    race = CASE WHEN v_idle THEN false ELSE race END,
    updated_at = clock_timestamp()
  WHERE id = p_run;

  IF v_discover THEN
    v_owner := p_owner;
    IF cardinality(r.ckeys) > 0 THEN
      PERFORM pg_advisory_xact_lock(6647399, 0);
      IF EXISTS (
        SELECT 1 FROM unnest(r.ckeys, r.climits) AS c(k, l)
        WHERE (SELECT count(*) FROM engine.jobs a WHERE a.lease_owner IS NOT NULL AND c.k = ANY (a.ckeys)) >= c.l
      ) THEN
        v_owner := NULL;
      END IF;
    END IF;
    INSERT INTO engine.jobs (run_id, kind, step_id, attempt, run_at, ckeys, climits, lease_owner, leased_at, job_key)
    VALUES (p_run, 'call', '', 0, clock_timestamp(), r.ckeys, r.climits, v_owner,
      CASE WHEN v_owner IS NULL THEN NULL ELSE clock_timestamp() END, v_key)
    ON CONFLICT (run_id, kind, step_id) DO NOTHING
    RETURNING jsonb_build_object('id', id::text, 'run_id', run_id, 'kind', kind, 'step_id', step_id, 'attempt', attempt,
      'conn_errors', conn_errors, 'job_key', job_key)
    INTO v_job;
    IF v_job IS NOT NULL AND v_owner IS NULL THEN
      -- Queued behind the run's concurrency limit: the lease loop takes it when a slot frees up.
      v_job := NULL;
      v_queued := true;
      PERFORM pg_notify('engine_jobs', '');
    ELSIF v_job IS NULL THEN
      -- A discovery of this run is in flight: ask for another once it is answered.
      UPDATE engine.runs SET rediscover = true WHERE id = p_run AND EXISTS (
        SELECT 1 FROM engine.jobs WHERE run_id = p_run AND kind = 'call' AND step_id = '' AND lease_owner IS NOT NULL);
    END IF;
  END IF;

  RETURN jsonb_build_object(
    'outcome', 'applied',
    'queued', v_queued,
    'position', v_position,
    'job', v_job,
    'event', r.event,
    'function_id', r.function_id,
    'req_version', v_version,
    'disable_immediate', CASE WHEN v_idle THEN false ELSE r.disable_immediate END,
    'stack_size', r.stack_size + CASE WHEN v_position IS NULL THEN 0 ELSE 1 END);
END;
$$;

-- The SDK's async checkpoint in one round trip (executor/checkpoint.ts): lock the run, check that
-- the request's lease is still live (else 'stale'), start the job's attempts again from 0, and
-- memoize each step result that is new. Returns the positions given to the new memos.
CREATE FUNCTION engine.apply_checkpoint(p_run text, p_job bigint, p_owner integer, p_steps jsonb) RETURNS jsonb
LANGUAGE plpgsql AS $$
DECLARE
  r engine.runs%ROWTYPE;
  v_step jsonb;
  v_position integer;
  v_stored jsonb := '[]'::jsonb;
BEGIN
  SELECT * INTO r FROM engine.runs WHERE id = p_run FOR UPDATE;
  IF NOT FOUND OR r.status <> 'running' THEN
    RETURN jsonb_build_object('outcome', 'stale', 'status', COALESCE(r.status, 'unknown'), 'function_id', r.function_id);
  END IF;
  UPDATE engine.jobs SET attempt = 0 WHERE id = p_job AND run_id = p_run AND kind = 'call' AND lease_owner = p_owner;
  IF NOT FOUND THEN
    RETURN jsonb_build_object('outcome', 'stale', 'status', r.status, 'function_id', r.function_id);
  END IF;
  FOR v_step IN SELECT * FROM jsonb_array_elements(p_steps) LOOP
    v_position := NULL;
    INSERT INTO engine.steps AS s (run_id, step_id, op, name, memo, position, completed_at, attempts)
    VALUES (p_run, v_step->>'id', 'StepRun', v_step->>'name', v_step->'memo',
      (SELECT stack_size FROM engine.runs WHERE id = p_run), clock_timestamp(), 1)
    ON CONFLICT (run_id, step_id) DO UPDATE SET memo = excluded.memo, position = excluded.position,
      completed_at = excluded.completed_at, op = excluded.op, attempts = excluded.attempts
    WHERE s.memo IS NULL
    RETURNING position INTO v_position;
    IF v_position IS NOT NULL THEN
      UPDATE engine.runs SET stack_size = stack_size + 1, updated_at = clock_timestamp() WHERE id = p_run;
      v_stored := v_stored || jsonb_build_object('id', v_step->>'id', 'position', v_position, 'name', v_step->>'name');
    END IF;
  END LOOP;
  RETURN jsonb_build_object('outcome', 'applied', 'function_id', r.function_id, 'stored', v_stored);
END;
$$;
