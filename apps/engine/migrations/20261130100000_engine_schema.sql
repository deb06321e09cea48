-- State of the local Inngest-compatible engine. Everything lives in its own schema so the
-- product's tables and the engine's never mix; the engine is the only writer here.
CREATE SCHEMA IF NOT EXISTS engine;

CREATE TABLE engine.apps (
  id text PRIMARY KEY,
  url text NOT NULL,
  sdk text,
  synced_at timestamptz NOT NULL DEFAULT now()
);

-- One row per function of a synced app; `config` is what the SDK sent, already validated.
CREATE TABLE engine.functions (
  id text PRIMARY KEY,
  app_id text NOT NULL REFERENCES engine.apps (id),
  name text NOT NULL,
  url text NOT NULL,
  config jsonb NOT NULL,
  max_attempts integer NOT NULL,
  deleted_at timestamptz,
  updated_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE engine.events (
  id text PRIMARY KEY,
  name text NOT NULL,
  body jsonb NOT NULL,
  received_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX events_received_at_idx ON engine.events (received_at);

CREATE TABLE engine.runs (
  id text PRIMARY KEY,
  function_id text NOT NULL,
  event_id text NOT NULL,
  event jsonb NOT NULL,
  status text NOT NULL CHECK (status IN ('running', 'completed', 'failed', 'cancelled')),
  output jsonb,
  error jsonb,
  req_version integer NOT NULL DEFAULT -1,
  disable_immediate boolean NOT NULL DEFAULT false,
  -- planned steps whose calls are in flight (request version 2 coalescing)
  pending text[] NOT NULL DEFAULT '{}',
  race boolean NOT NULL DEFAULT false,
  -- a discovery was asked for while one was in flight: send another when that one is answered
  rediscover boolean NOT NULL DEFAULT false,
  stack_size integer NOT NULL DEFAULT 0,
  ckeys text[] NOT NULL DEFAULT '{}',
  climits integer[] NOT NULL DEFAULT '{}',
  created_at timestamptz NOT NULL DEFAULT clock_timestamp(),
  updated_at timestamptz NOT NULL DEFAULT clock_timestamp(),
  ended_at timestamptz
);
CREATE INDEX runs_function_idx ON engine.runs (function_id, id DESC);
CREATE INDEX runs_status_idx ON engine.runs (status, id DESC);

-- A step's memo is NULL until it resolves; `position` is its place in the completion-order stack.
CREATE TABLE engine.steps (
  run_id text NOT NULL REFERENCES engine.runs (id) ON DELETE CASCADE,
  step_id text NOT NULL,
  op text NOT NULL,
  name text NOT NULL,
  memo jsonb,
  position integer,
  attempts integer NOT NULL DEFAULT 0,
  last_error jsonb,
  created_at timestamptz NOT NULL DEFAULT clock_timestamp(),
  completed_at timestamptz,
  PRIMARY KEY (run_id, step_id)
);

-- waitForEvent pauses (kind 'event') and cancelOn entries (kind 'cancel').
CREATE TABLE engine.waits (
  id bigserial PRIMARY KEY,
  run_id text NOT NULL REFERENCES engine.runs (id) ON DELETE CASCADE,
  kind text NOT NULL CHECK (kind IN ('event', 'cancel')),
  step_id text,
  event_name text NOT NULL,
  expression text,
  expires_at timestamptz NOT NULL,
  created_at timestamptz NOT NULL DEFAULT clock_timestamp(),
  resolved_at timestamptz,
  resolution text,
  matched_event_id text
);
CREATE INDEX waits_open_idx ON engine.waits (event_name) WHERE resolved_at IS NULL;
CREATE UNIQUE INDEX waits_step_idx ON engine.waits (run_id, step_id) WHERE kind = 'event';

-- Durable work: calls to the app, sleep wake-ups and wait timeouts. A job is leased by setting
-- lease_owner (an engine instance that holds a session advisory lock with that number).
CREATE TABLE engine.jobs (
  id bigserial PRIMARY KEY,
  run_id text NOT NULL REFERENCES engine.runs (id) ON DELETE CASCADE,
  kind text NOT NULL CHECK (kind IN ('call', 'sleep', 'wait_timeout')),
  step_id text NOT NULL DEFAULT '',
  attempt integer NOT NULL DEFAULT 0,
  conn_errors integer NOT NULL DEFAULT 0,
  run_at timestamptz NOT NULL,
  lease_owner integer,
  leased_at timestamptz,
  ckeys text[] NOT NULL DEFAULT '{}',
  climits integer[] NOT NULL DEFAULT '{}',
  last_error text,
  created_at timestamptz NOT NULL DEFAULT clock_timestamp()
);
CREATE INDEX jobs_due_idx ON engine.jobs (run_at, id) WHERE lease_owner IS NULL;
CREATE INDEX jobs_leased_idx ON engine.jobs (lease_owner) WHERE lease_owner IS NOT NULL;
-- At most one job per (run, kind, step): never two discoveries of one run in flight at once.
CREATE UNIQUE INDEX jobs_unique_idx ON engine.jobs (run_id, kind, step_id);
