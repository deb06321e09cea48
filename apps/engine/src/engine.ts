import type { Server } from "node:http";
import type { AddressInfo } from "node:net";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { applyMigrations, createPool } from "@batchgen/db";
import { createApi } from "./api/app.ts";
import { syncAppOnce, syncAppUntilReachable, type SyncOutcome } from "./api/sync.ts";
import { DEFAULT_RUN_RETENTION_DAYS, MIN_RUN_RETENTION_DAYS } from "./queue/retention.ts";
import { Worker } from "./queue/worker.ts";

export const MIGRATIONS_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../migrations");

export interface EngineOptions {
  readonly databaseUrl: string;
  /** 0 (the default) picks a free port. */
  readonly port?: number;
  readonly host?: string;
  /** Serve handler URLs to sync at start; retried until each app answers. */
  readonly appUrls?: readonly string[];
  /** Cloud mode: requests to the app are signed and its responses verified. Unset: dev mode. */
  readonly signingKey?: string;
  /** Cloud mode: the only key the event API accepts. Unset: any key (dev mode). */
  readonly eventKey?: string;
  readonly log?: (line: string) => void;
  /** Test knob: multiplies every retry and reconnect delay. Never set it outside tests. */
  readonly backoffScale?: number;
  /** Consecutive failures to reach the app before one counts as a failed attempt (default 50). */
  readonly connectionErrorBudget?: number;
  readonly maxInFlight?: number;
  readonly callTimeoutMs?: number;
  readonly pollMs?: number;
  /** How often the apps in `appUrls` are synced again (default 10 s). */
  readonly resyncMs?: number;
  readonly maxStepsPerRun?: number;
  readonly maxStepOutputBytes?: number;
  readonly maxEventBytes?: number;
  readonly maxEventRequestBytes?: number;
  /**
   * Runs that ended (completed, failed, cancelled) more than this many days ago are deleted with
   * their steps, waits and jobs, at start and every 10 minutes (default 7, at least 1). Running
   * runs, parked on a wait or a sleep however long, are never deleted.
   */
  readonly runRetentionDays?: number;
  /**
   * Let the SDK checkpoint, as Inngest does (default true): a discovery request carries ctx.fn_id
   * and ctx.qi_id, the SDK runs consecutive steps in it and posts each to /v1/checkpoint/:runId/async.
   * false: one step per request (what an app with `checkpointing: false` gets anyway).
   */
  readonly checkpointing?: boolean;
  /**
   * Test and bench knob: false sends every SDK answer through the TypeScript path
   * (executor/handle.ts) instead of the one-round-trip engine.apply_step_run for a single StepRun.
   */
  readonly fastPath?: boolean;
}

export interface EngineHandle {
  readonly url: string;
  readonly port: number;
  /** Pulls an app's config now (in-band sync); resolves with the outcome, never retries. */
  syncApp(appUrl: string): Promise<SyncOutcome>;
  /** Resolves when every app in `appUrls` has been synced (or rejected). */
  readonly synced: Promise<readonly SyncOutcome[]>;
  /** Requests made to apps and checkpoints received since start (for the bench and tests). */
  stats(): { readonly calls: number; readonly checkpoints: number };
  close(): Promise<void>;
}

function withSessionSetting(databaseUrl: string, setting: string): string {
  const url = new URL(databaseUrl);
  const current = url.searchParams.get("options");
  url.searchParams.set("options", `${current ? `${current} ` : ""}-c ${setting}`);
  return url.toString();
}

export async function startEngine(options: EngineOptions): Promise<EngineHandle> {
  const log = options.log ?? ((line: string) => console.log(line));
  const runRetentionDays = options.runRetentionDays ?? DEFAULT_RUN_RETENTION_DAYS;
  if (!(Number.isFinite(runRetentionDays) && runRetentionDays >= MIN_RUN_RETENTION_DAYS)) {
    throw new Error(`runRetentionDays must be a number of days, at least ${MIN_RUN_RETENTION_DAYS} (got ${runRetentionDays})`);
  }
  const pool = createPool(options.databaseUrl, {
    max: 8,
    applicationName: "batchgen-engine",
    onIdleError: (error) => log(`engine database connection error: ${error.message}`),
  });
  await applyMigrations(pool, [{ namespace: "engine", dir: MIGRATIONS_DIR }], (line) => log(`engine migration ${line}`));
  // Worker transactions (leases, step results, timers) commit without waiting for the WAL flush:
  // a killed engine loses nothing, since the commit has happened inside Postgres. Only a crash of
  // Postgres itself could drop the last moments of them, which replays those steps (Inngest's own
  // at-least-once contract). Accepted events, syncs and cancels (the API pool) stay synchronous.
  const workerPool = createPool(withSessionSetting(options.databaseUrl, "synchronous_commit=off"), {
    max: 12,
    applicationName: "batchgen-engine-worker",
    onIdleError: (error) => log(`engine database connection error: ${error.message}`),
  });

  const signingKey = options.signingKey || undefined;
  const worker = new Worker({
    pool: workerPool,
    log,
    signingKey,
    maxInFlight: options.maxInFlight ?? 64,
    callTimeoutMs: options.callTimeoutMs ?? 2 * 3_600_000,
    pollMs: options.pollMs ?? 1_000,
    checkpointing: options.checkpointing ?? true,
    fastPath: options.fastPath ?? true,
    runRetentionDays,
    settings: {
      backoffScale: options.backoffScale ?? 1,
      connectionErrorBudget: options.connectionErrorBudget ?? 50,
      maxStepsPerRun: options.maxStepsPerRun ?? 1_000,
      maxStepOutputBytes: options.maxStepOutputBytes ?? 4 * 1024 * 1024,
    },
  });
  const counters = { checkpoints: 0 };
  const api = createApi({
    counters,
    pool,
    log,
    signingKey,
    eventKey: options.eventKey || undefined,
    maxEventBytes: options.maxEventBytes ?? 512 * 1024,
    maxEventRequestBytes: options.maxEventRequestBytes ?? 3 * 1024 * 1024,
    leaseOwner: worker.owner,
    checkpointPool: workerPool,
    maxStepOutputBytes: options.maxStepOutputBytes ?? 4 * 1024 * 1024,
    onWork: (result) => worker.absorb(result),
  });

  await worker.start();
  const server: Server = await new Promise((resolve, reject) => {
    const listening = api.listen(options.port ?? 0, options.host ?? "127.0.0.1", () => resolve(listening));
    listening.once("error", reject);
  });
  server.keepAliveTimeout = 65_000;

  const port = (server.address() as AddressInfo).port;
  const url = `http://${options.host ?? "127.0.0.1"}:${port}`;
  let closing = false;
  log(`engine listening on ${url} (${signingKey ? "cloud mode, signed" : "dev mode, unsigned"})`);

  const synced = Promise.all((options.appUrls ?? []).map((appUrl) => syncAppUntilReachable(pool, log, appUrl, signingKey, () => closing)));
  // Like the Inngest Dev Server, keep pulling the configured apps' configs, so an app restarted
  // with changed functions is picked up without a manual sync. Only changes are logged.
  const lastProblem = new Map<string, string>();
  const resyncing = new Set<string>();
  const resync = (): void => {
    for (const appUrl of options.appUrls ?? []) {
      // One re-sync of an app at a time: a slow app must not pile them up.
      if (resyncing.has(appUrl)) continue;
      resyncing.add(appUrl);
      syncAppOnce(pool, log, appUrl, signingKey)
        .then((outcome) => {
          const problem = outcome.ok ? "" : outcome.message;
          if (problem !== (lastProblem.get(appUrl) ?? ""))
            log(problem ? `engine could not re-sync ${appUrl}: ${problem}` : `engine re-synced ${appUrl}`);
          lastProblem.set(appUrl, problem);
        })
        .catch(() => undefined)
        .finally(() => resyncing.delete(appUrl));
    }
  };
  const resyncTimer = (options.appUrls ?? []).length > 0 ? setInterval(resync, options.resyncMs ?? 10_000) : undefined;

  return {
    url,
    port,
    synced,
    syncApp: (appUrl) => syncAppOnce(pool, log, appUrl, signingKey),
    stats: () => ({ calls: worker.calls, checkpoints: counters.checkpoints }),
    close: async () => {
      if (closing) return;
      closing = true;
      clearInterval(resyncTimer);
      // Stop taking work and let calls in flight finish first: their steps may still post
      // events (step.sendEvent) to this engine's API, so it closes last.
      await worker.close();
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
      await synced.catch(() => undefined);
      await Promise.all([pool.end(), workerPool.end()]);
    },
  };
}
