-- Limits shared by every API process (docs/decisions/shared-limits.md).
--
-- 1. The per-user request limits (create, controls) are counted by rate-limiter-flexible's
--    RateLimiterPostgres in this table. The library can create it on first use; we create it here
--    instead (the API passes `tableCreated: true`), so the API never needs CREATE on the schema and
--    the table is in the migration history like every other one. The shape is the library's own
--    (RateLimiterPostgres._getCreateTableStmt in rate-limiter-flexible 11.4.0): `expire` is epoch
--    milliseconds of the API host's clock; NULL never expires (we always set it).
CREATE TABLE public.rate_limits (
  key varchar(255) PRIMARY KEY,
  points integer NOT NULL DEFAULT 0,
  expire bigint
);

ALTER TABLE public.rate_limits ENABLE ROW LEVEL SECURITY;

-- 2. Open live streams, one row per stream, so "at most N streams per user" holds across processes.
--    The process that serves a stream heartbeats its rows; a row whose heartbeat is older than the
--    stale window belongs to a process that died (SIGKILL, lost host) and no longer counts. Ages
--    are judged by the database's clock.
CREATE TABLE public.live_stream_slots (
  id uuid PRIMARY KEY,
  -- The token's subject, as the rate limits key on it (no foreign key: a token whose user was
  -- deleted still gets the route's own 401, not a constraint error).
  user_id text NOT NULL,
  holder text NOT NULL,
  opened_at timestamptz NOT NULL DEFAULT clock_timestamp(),
  heartbeat_at timestamptz NOT NULL DEFAULT clock_timestamp()
);

CREATE INDEX live_stream_slots_user_idx ON public.live_stream_slots (user_id);
CREATE INDEX live_stream_slots_heartbeat_idx ON public.live_stream_slots (heartbeat_at);

ALTER TABLE public.live_stream_slots ENABLE ROW LEVEL SECURITY;
