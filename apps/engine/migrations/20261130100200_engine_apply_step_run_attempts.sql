-- engine.apply_step_run, now also recording how many attempts the step took (steps.attempts
-- counts attempts made, the successful one included, like the general path).
DROP FUNCTION engine.apply_step_run(bigint, integer, text, text, text, jsonb, integer, integer);

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
BEGIN
  SELECT * INTO r FROM engine.runs WHERE id = p_run FOR UPDATE;
  IF NOT FOUND OR r.status <> 'running' OR cardinality(r.ckeys) > 0 OR r.rediscover THEN
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
    INSERT INTO engine.jobs (run_id, kind, step_id, attempt, run_at, lease_owner, leased_at)
    VALUES (p_run, 'call', '', 0, clock_timestamp(), p_owner, clock_timestamp())
    ON CONFLICT (run_id, kind, step_id) DO NOTHING
    RETURNING jsonb_build_object('id', id::text, 'run_id', run_id, 'kind', kind, 'step_id', step_id, 'attempt', attempt, 'conn_errors', conn_errors)
    INTO v_job;
    IF v_job IS NULL THEN
      -- A discovery of this run is in flight: ask for another once it is answered.
      UPDATE engine.runs SET rediscover = true WHERE id = p_run AND EXISTS (
        SELECT 1 FROM engine.jobs WHERE run_id = p_run AND kind = 'call' AND step_id = '' AND lease_owner IS NOT NULL);
    END IF;
  END IF;

  RETURN jsonb_build_object(
    'outcome', 'applied',
    'position', v_position,
    'job', v_job,
    'event', r.event,
    'function_id', r.function_id,
    'req_version', v_version,
    'disable_immediate', CASE WHEN v_idle THEN false ELSE r.disable_immediate END,
    'stack_size', r.stack_size + CASE WHEN v_position IS NULL THEN 0 ELSE 1 END);
END;
$$;
