-- engine.apply_step_run for runs with concurrency keys too: the next discovery is leased here
-- only if every key of the run is below its limit (counted over leased calls under the same
-- advisory lock the lease loop takes); otherwise it is queued and the worker is woken.
DROP FUNCTION engine.apply_step_run(bigint, integer, text, text, text, jsonb, integer, integer, integer);

CREATE FUNCTION engine.apply_step_run(
  p_job bigint,
  p_owner integer,
  p_run text,
  p_step text,
  p_name text,
  p_memo jsonb,
  p_max_steps integer,
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
  v_fresh integer;
  v_count integer;
  v_position integer;
  v_job jsonb;
  v_owner integer;
  v_queued boolean := false;
BEGIN
  SELECT * INTO r FROM engine.runs WHERE id = p_run FOR UPDATE;
  IF NOT FOUND OR r.status <> 'running' OR r.rediscover THEN
    RETURN NULL;
  END IF;
  v_fresh := CASE WHEN p_step = ANY (r.pending) THEN 0 ELSE 1 END;
  SELECT count(*) INTO v_count FROM engine.steps WHERE run_id = p_run AND op <> 'StepError';
  IF v_count + v_fresh > p_max_steps THEN
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
    INSERT INTO engine.jobs (run_id, kind, step_id, attempt, run_at, ckeys, climits, lease_owner, leased_at)
    VALUES (p_run, 'call', '', 0, clock_timestamp(), r.ckeys, r.climits, v_owner,
      CASE WHEN v_owner IS NULL THEN NULL ELSE clock_timestamp() END)
    ON CONFLICT (run_id, kind, step_id) DO NOTHING
    RETURNING jsonb_build_object('id', id::text, 'run_id', run_id, 'kind', kind, 'step_id', step_id, 'attempt', attempt, 'conn_errors', conn_errors)
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
