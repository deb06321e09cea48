import type { Pool } from "@batchgen/db";

export interface RunListQuery {
  readonly functionId?: string;
  readonly eventId?: string;
  readonly status?: string;
  readonly cursor?: string;
  readonly limit: number;
}

const RUN_COLUMNS = `id, function_id, status, event_id, event->>'name' AS event_name, output, error, created_at, ended_at`;

/** Newest first; `next_cursor` is the id to pass as `cursor` for the next page. */
export async function listRuns(pool: Pool, query: RunListQuery): Promise<{ data: Record<string, unknown>[]; next_cursor: string | null }> {
  const limit = Number.isInteger(query.limit) && query.limit > 0 ? Math.min(query.limit, 500) : 50;
  const { rows } = await pool.query<Record<string, unknown> & { id: string }>(
    `SELECT ${RUN_COLUMNS} FROM engine.runs
     WHERE ($1::text IS NULL OR function_id = $1) AND ($5::text IS NULL OR event_id = $5) AND ($2::text IS NULL OR status = $2) AND ($3::text IS NULL OR id < $3)
     ORDER BY id DESC LIMIT $4`,
    [query.functionId ?? null, query.status ?? null, query.cursor ?? null, limit + 1, query.eventId ?? null],
  );
  const page = rows.slice(0, limit);
  return { data: page, next_cursor: rows.length > limit ? (page.at(-1)?.id ?? null) : null };
}

export async function getRunDetail(pool: Pool, id: string): Promise<Record<string, unknown> | undefined> {
  const { rows } = await pool.query<Record<string, unknown>>(
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
      `SELECT kind, step_id, attempt, conn_errors, run_at, lease_owner IS NOT NULL AS leased FROM engine.jobs WHERE run_id = $1 ORDER BY run_at`,
      [id],
    ),
  ]);
  return { ...run, steps: steps.rows, waits: waits.rows, jobs: jobs.rows };
}
