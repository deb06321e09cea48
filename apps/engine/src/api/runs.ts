import type { Pool } from "@batchgen/db";

export interface RunListQuery {
  readonly functionId?: string;
  readonly eventId?: string;
  readonly status?: string;
  readonly cursor?: string;
  readonly limit: number;
}

const RUN_COLUMNS = `id, function_id, status, event_id, event->>'name' AS event_name, output, error, created_at, ended_at`;

const INNGEST_STATUS: Record<string, string> = { running: "Running", completed: "Completed", failed: "Failed", cancelled: "Cancelled" };

interface RunRowView extends Record<string, unknown> {
  readonly id: string;
  readonly function_id: string;
  readonly status: string;
  readonly event_id: string;
  readonly output: unknown;
  readonly error: unknown;
  readonly created_at: Date;
  readonly ended_at: Date | null;
}

/**
 * A run in the shape of Inngest's REST API (`cqrs.FunctionRun` in pkg/cqrs/function_runs.go, as
 * served by pkg/api/apiv1/runs.go and events.go): run_id, run_started_at, function_id, event_id,
 * status ("Running", "Completed", "Failed", "Cancelled"), ended_at, output. `function_id` is the
 * function's slug (Inngest answers its internal UUID); a failed run's output is its error.
 * The engine's own fields (id, error, steps, waits, …) ride along.
 */
function inngestRun(row: RunRowView): Record<string, unknown> {
  const { created_at: createdAt, ...rest } = row;
  return {
    ...rest,
    run_id: row.id,
    run_started_at: createdAt,
    created_at: createdAt,
    status: INNGEST_STATUS[row.status] ?? row.status,
    output: row.status === "failed" ? row.error : row.output,
  };
}

/** Inngest's response envelope (apiv1.go WriteCachedResponse). */
export function envelope<T>(data: T): { data: T; metadata: { fetched_at: string } } {
  return { data, metadata: { fetched_at: new Date().toISOString() } };
}

/** GET /v1/events/:eventId/runs: the runs one event started (its id as the event API answered it). */
export async function listEventRuns(pool: Pool, eventId: string): Promise<Record<string, unknown>[]> {
  const { rows } = await pool.query<RunRowView>(`SELECT ${RUN_COLUMNS} FROM engine.runs WHERE event_id = $1 ORDER BY id`, [eventId]);
  return rows.map(inngestRun);
}

/** Newest first; `next_cursor` is the id to pass as `cursor` for the next page. */
export async function listRuns(pool: Pool, query: RunListQuery): Promise<{ data: Record<string, unknown>[]; next_cursor: string | null }> {
  const status = query.status?.toLowerCase();
  const limit = Number.isInteger(query.limit) && query.limit > 0 ? Math.min(query.limit, 500) : 50;
  const { rows } = await pool.query<RunRowView>(
    `SELECT ${RUN_COLUMNS} FROM engine.runs
     WHERE ($1::text IS NULL OR function_id = $1) AND ($5::text IS NULL OR event_id = $5) AND ($2::text IS NULL OR status = $2) AND ($3::text IS NULL OR id < $3)
     ORDER BY id DESC LIMIT $4`,
    [query.functionId ?? null, status ?? null, query.cursor ?? null, limit + 1, query.eventId ?? null],
  );
  const page = rows.slice(0, limit);
  return { data: page.map(inngestRun), next_cursor: rows.length > limit ? (page.at(-1)?.id ?? null) : null };
}

export async function getRunDetail(pool: Pool, id: string): Promise<Record<string, unknown> | undefined> {
  const { rows } = await pool.query<RunRowView>(
    `SELECT ${RUN_COLUMNS}, event, req_version, pending, disable_immediate FROM engine.runs WHERE id = $1`,
    [id],
  );
  const run = rows[0];
  if (!run) return undefined;
  const [steps, waits, jobs] = await Promise.all([
    pool.query(
      `SELECT step_id AS id, name, op, position, attempts, memo, last_error, created_at, completed_at FROM engine.steps WHERE run_id = $1 ORDER BY position NULLS LAST, created_at`,
      [id],
    ),
    pool.query(
      `SELECT kind, step_id, event_name, expression, expires_at, resolved_at, resolution, matched_event_id FROM engine.waits WHERE run_id = $1 ORDER BY id`,
      [id],
    ),
    pool.query(
      `SELECT kind, step_id, job_key, attempt, conn_errors, run_at, lease_owner IS NOT NULL AS leased FROM engine.jobs WHERE run_id = $1 ORDER BY run_at`,
      [id],
    ),
  ]);
  return { ...inngestRun(run), steps: steps.rows, waits: waits.rows, jobs: jobs.rows };
}
