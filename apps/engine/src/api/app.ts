import { STATUS_CODES } from "node:http";
import express, { type Express, type NextFunction, type Request, type Response } from "express";
import type { Pool } from "@batchgen/db";
import { applyCheckpoint, CheckpointError } from "../executor/checkpoint.ts";
import { bearerMatches, hashSigningKey } from "../executor/signing.ts";
import { ulid } from "ulid";
import { finishRun, ingestEvents } from "../store/events.ts";
import type { IncomingEvent } from "../store/records.ts";
import { lockRun } from "../store/runs.ts";
import { inTransaction, type TransactionResult } from "../store/tx.ts";
import { eventIdsFromSeed } from "./event-ids.ts";
import { SyncRejectedError } from "./function-config.ts";
import { registerApp } from "./register.ts";
import { resolveSessions, SessionError } from "./sessions.ts";
import { envelope, getRunDetail, listEventRuns, listRuns } from "./runs.ts";

export interface ApiOptions {
  readonly pool: Pool;
  readonly log: (line: string) => void;
  readonly signingKey?: string;
  readonly eventKey?: string;
  readonly maxEventBytes: number;
  readonly maxEventRequestBytes: number;
  /** The worker's instance number: calls due now are leased to it in the API's transaction. */
  readonly leaseOwner: number;
  /** Checkpoint posts are committed on the worker's pool (asynchronous commit, like step results). */
  readonly checkpointPool: Pool;
  readonly maxStepOutputBytes: number;
  /** Checkpoint posts received, counted for EngineHandle.stats. */
  readonly counters: { checkpoints: number };
  /** Called after a commit that made work due, to run or wake without waiting for NOTIFY. */
  readonly onWork: (result: Pick<TransactionResult<unknown>, "leased" | "memos" | "ended" | "wake">) => void;
}

class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

/**
 * Normalises the events of one request as Inngest's event API does (pkg/event/inbound.go
 * NormalizeInbound, pkg/api/api.go): names under "inngest/" are reserved, `data._inngest` is
 * dropped, `ts` and `user` get defaults, sessions are resolved (sessions.ts), and each event gets
 * the server's internal id (from the SDK's seed when there is one); an event without its own `id`
 * takes the internal id as its `id`.
 */
function normaliseEvents(body: unknown, internalIds: string[], maxEventBytes: number): IncomingEvent[] {
  const list = Array.isArray(body) ? body : [body];
  return list.map((raw, index) => {
    if (typeof raw !== "object" || raw === null) throw new HttpError(400, `event ${index} is not an object`);
    const event = raw as Record<string, unknown>;
    if (typeof event.name !== "string" || !event.name) throw new HttpError(400, `event ${index} has no name`);
    if (event.name.toLowerCase().startsWith("inngest/")) {
      throw new HttpError(400, `event ${index} (${event.name}): event name is reserved for internal use`);
    }
    const size = Buffer.byteLength(JSON.stringify(event));
    if (size > maxEventBytes)
      throw new HttpError(413, `event ${index} (${event.name}) is ${size} bytes, over the ${maxEventBytes}-byte limit per event`);
    const data =
      typeof event.data === "object" && event.data !== null && !Array.isArray(event.data) ? { ...(event.data as Record<string, unknown>) } : {};
    delete data._inngest;
    let meta: Record<string, unknown> | undefined;
    try {
      meta = resolveSessions(event.meta);
    } catch (error) {
      if (error instanceof SessionError) throw new HttpError(400, `event ${index} (${event.name}): ${error.message}`);
      throw error;
    }
    const { meta: _meta, ...rest } = event;
    const internalId = internalIds[index] ?? ulid();
    return {
      internalId,
      event: {
        ...rest,
        name: event.name,
        data,
        id: typeof event.id === "string" && event.id ? event.id : internalId,
        ts: typeof event.ts === "number" && event.ts !== 0 ? event.ts : Date.now(),
        user: typeof event.user === "object" && event.user !== null ? (event.user as Record<string, unknown>) : {},
        ...(meta ? { meta } : {}),
      },
    };
  });
}

/**
 * The status and message of an error a route threw. Besides the engine's own refusals, a 4xx that
 * Express raised (a path parameter that is not valid percent-encoding) or its body parser did (bad
 * JSON, a body over the limit, an unsupported charset or encoding) keeps its status: http-errors'
 * convention, `status` (or `statusCode`) in 400..499; its message is shown unless `expose` is false.
 * PostgreSQL's data exceptions (SQLSTATE class 22: a NUL byte, a number out of range) come from
 * input the route let through: a bad request too. Anything else is an engine failure (500).
 */
function describeError(error: unknown): { status: number; message: string } {
  const message = error instanceof Error ? error.message : String(error);
  if (error instanceof HttpError) return { status: error.status, message };
  if (error instanceof SyncRejectedError) return { status: 400, message };
  const fields = (typeof error === "object" && error !== null ? error : {}) as { status?: unknown; statusCode?: unknown; expose?: unknown; code?: unknown };
  const status = typeof fields.status === "number" ? fields.status : fields.statusCode;
  if (typeof status === "number" && Number.isInteger(status) && status >= 400 && status <= 499) {
    return { status, message: fields.expose === false ? (STATUS_CODES[status] ?? "Bad Request") : message };
  }
  if (typeof fields.code === "string" && /^22[0-9A-Z]{3}$/.test(fields.code)) {
    return { status: 400, message: "a value in the request is not valid here (PostgreSQL refused it)" };
  }
  return { status: 500, message };
}

/** A JSON object body, or a 400: a route's body parser leaves `req.body` undefined for another content type. */
function objectBody(body: unknown): Record<string, unknown> {
  if (typeof body !== "object" || body === null || Array.isArray(body)) {
    throw new HttpError(400, "the body must be a JSON object, sent with content-type application/json");
  }
  return body as Record<string, unknown>;
}

/** A query parameter given at most once (a repeated one arrives as a list: a 400). */
function singleParam(query: Record<string, unknown>, name: string): string | undefined {
  const value = query[name];
  if (value === undefined || typeof value === "string") return value;
  throw new HttpError(400, `${name} must be given once`);
}

/** Most runs one page of GET /v1/runs holds, and how many it holds when `limit` is absent (or 0). */
const MAX_RUNS_LIMIT = 500;
const DEFAULT_RUNS_LIMIT = 50;

/**
 * The `limit` of GET /v1/runs. Like Inngest's GET /v2/runs (pkg/api/v2/endpoints_runs.go
 * parseRunsPageOpts): absent or 0 takes the default, anything else must be a whole number from 1
 * to the maximum, or the request is a 400 (Inngest: "Limit must be at least 1", "Limit cannot
 * exceed 100", a non-integer refused by its query parser).
 */
function runsLimit(raw: string | undefined): number {
  if (raw === undefined) return DEFAULT_RUNS_LIMIT;
  const limit = /^\d{1,4}$/.test(raw) ? Number(raw) : Number.NaN;
  if (limit === 0) return DEFAULT_RUNS_LIMIT;
  if (!(limit >= 1 && limit <= MAX_RUNS_LIMIT)) throw new HttpError(400, `limit must be an integer from 1 to ${MAX_RUNS_LIMIT}`);
  return limit;
}

export function createApi(options: ApiOptions): Express {
  const app = express();
  const { pool, log } = options;

  app.get("/health", async (_req, res) => {
    await pool.query("SELECT 1");
    res.json({ status: "ok" });
  });

  // Event API. The SDK checks `status` in the body, not the HTTP status.
  app.post(
    "/e/:key",
    express.json({ limit: options.maxEventRequestBytes, type: () => true }),
    async (req: Request<{ key: string }>, res) => {
      if (options.eventKey && req.params.key !== options.eventKey) {
        res.status(401).json({ error: "event key not found", status: 401 });
        return;
      }
      const count = Array.isArray(req.body) ? req.body.length : 1;
      const events = normaliseEvents(req.body, eventIdsFromSeed(req.get("x-inngest-event-id-seed"), count), options.maxEventBytes);
      const result = await inTransaction(pool, log, (tx) => ingestEvents(tx, events), { owner: options.leaseOwner });
      // Answer the sender first, then start the work its events created: as on Inngest, a run
      // begins after the event was accepted, not while the sender still waits for its answer.
      res.json({ ids: events.map((event) => event.internalId), status: 200 });
      options.onWork(result);
    },
  );

  // Out-of-band sync: the SDK posts its config here after a PUT on its serve handler.
  app.post("/fn/register", express.json({ limit: "16mb" }), async (req, res) => {
    if (options.signingKey && req.get("authorization") !== `Bearer ${hashSigningKey(options.signingKey)}`) {
      res.status(401).json({ status: 401, error: "unauthorized: the signing key does not match the engine's" });
      return;
    }
    const body = objectBody(req.body);
    const { modified } = await registerApp(pool, log, { appId: body.appName, url: body.url, sdk: body.sdk, functions: body.functions });
    res.json({ status: 200, ok: true, modified });
  });

  // The SDK's async checkpointing (executor/checkpoint.ts). Authenticated like the SDK's other
  // API calls: in cloud mode the bearer is the signing key's hash.
  app.post(
    "/v1/checkpoint/:runId/async",
    express.json({ limit: "16mb" }),
    async (req: Request<{ runId: string }>, res) => {
      options.counters.checkpoints += 1;
      if (options.signingKey && !bearerMatches(req.get("authorization"), options.signingKey)) {
        res.status(401).json({ error: "unauthorized", status: 401 });
        return;
      }
      try {
        const memos = await applyCheckpoint(options.checkpointPool, log, req.params.runId, objectBody(req.body), options.maxStepOutputBytes);
        options.onWork({ memos, leased: [], ended: [], wake: false });
        res.status(200).json({ data: { run_id: req.params.runId } });
      } catch (error) {
        if (!(error instanceof CheckpointError)) throw error;
        // A stale dispatch (409) is routine (a cancel, a reclaimed lease). Any other refusal costs the
        // SDK five tries of the post (about 1.5 s) before it answers the step in its response instead,
        // so say so: a silent 400 here once made every step of half the engine processes 1.5 s late.
        if (error.status !== 409) log(`checkpoint for run ${req.params.runId} refused (${error.status}): ${error.message}`);
        res.status(error.status).json({ error: error.message, data: { run_id: req.params.runId }, status: error.status });
      }
    },
  );

  // Inspection and cancellation: Inngest's REST API (pkg/api/apiv1/apiv1.go) for what the engine
  // has, plus the engine's own list and detail. In cloud mode they need the signing key as a
  // bearer, as Inngest's REST API does (the key itself, or its hash as the SDK sends it).
  const requireSigningKey = (req: Request, res: Response, next: NextFunction): void => {
    if (options.signingKey && !bearerMatches(req.get("authorization"), options.signingKey)) {
      res.status(401).json({ error: "unauthorized: send the engine's signing key as a bearer token", status: 401 });
      return;
    }
    next();
  };

  app.get("/v1/events/:eventId/runs", requireSigningKey, async (req: Request<{ eventId: string }>, res) => {
    res.json(envelope(await listEventRuns(pool, req.params.eventId)));
  });

  app.get("/v1/runs", requireSigningKey, async (req, res) => {
    const query = req.query as Record<string, unknown>;
    res.json(
      await listRuns(pool, {
        functionId: singleParam(query, "function_id"),
        eventId: singleParam(query, "event_id"),
        status: singleParam(query, "status"),
        cursor: singleParam(query, "cursor"),
        limit: runsLimit(singleParam(query, "limit")),
      }),
    );
  });

  app.get("/v1/runs/:id", requireSigningKey, async (req: Request<{ id: string }>, res) => {
    const detail = await getRunDetail(pool, req.params.id);
    if (!detail) throw new HttpError(404, `run ${req.params.id} not found`);
    res.json(envelope(detail));
  });

  const cancel = async (runId: string): Promise<void> => {
    const result = await inTransaction(pool, log, async (tx) => {
      const run = await lockRun(tx, runId);
      if (!run) throw new HttpError(404, `run ${runId} not found`);
      if (run.status !== "running") throw new HttpError(409, `run ${run.id} is already ${run.status}`);
      await finishRun(tx, run, { status: "cancelled", reason: "cancelled through the API" });
    });
    options.onWork(result);
  };
  // Inngest's cancel: DELETE /v1/runs/:runId, answered 200 with an empty body (apiv1/runs.go).
  app.delete("/v1/runs/:id", requireSigningKey, async (req: Request<{ id: string }>, res) => {
    await cancel(req.params.id);
    res.status(200).end();
  });
  // The engine's older cancel path, kept for its users.
  app.post("/v1/runs/:id/cancel", requireSigningKey, async (req: Request<{ id: string }>, res) => {
    await cancel(req.params.id);
    res.json({ data: { id: req.params.id, status: "cancelled" } });
  });

  app.use((error: unknown, req: Request, res: Response, _next: NextFunction) => {
    const { status, message } = describeError(error);
    if (status === 500) log(`engine ${req.method} ${req.path} failed: ${message}`);
    if (error instanceof SyncRejectedError) log(`engine rejected a sync: ${message}`);
    res.status(status).json({ status, error: message });
  });
  return app;
}
