-- Retention of ended runs (src/queue/retention.ts forgetEndedRuns): runs that ended more than the
-- retention period ago (7 days by default) are deleted oldest first, a hundred at a time, with
-- their steps, waits and jobs (ON DELETE CASCADE). This index finds them without scanning the
-- runs that are still running, which are never deleted.
CREATE INDEX runs_ended_at_idx ON engine.runs (ended_at) WHERE status <> 'running';
