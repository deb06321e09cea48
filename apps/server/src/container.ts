import type { Pool } from "@batchgen/db";
import type { Inngest } from "inngest";
import type { Logger } from "pino";
import type { Config } from "./config.ts";
import { BatchController } from "./controllers/generation/batch.controller.ts";
import { BatchControlController } from "./controllers/generation/batch-control.controller.ts";
import { DEFAULT_DOWNLOAD_IDLE_MS, QuestionExportController } from "./controllers/generation/question-export.controller.ts";
import { PgBatchControlStore } from "./repositories/batch-control.repository.ts";
import { assertRunnerTickCallable } from "./repositories/batch-item.repository.ts";
import { BatchControlService } from "./services/generation/batch-control.service.ts";
import { createGenerator, listAvailableGenerators, type GeneratorsOptions, type ItemGenerator } from "./generators/index.ts";
import { createPipelineFunctions } from "./inngest/functions/index.ts";
import { DEFAULT_BATCH_CONTROL_OPTIONS, type BatchControlFnOptions } from "./inngest/functions/batch-control.fn.ts";
import { DEFAULT_BATCH_GENERATE_OPTIONS, type BatchGenerateOptions } from "./inngest/functions/batch-generate.fn.ts";
import { BatchEventsHub } from "./lib/batch-events-hub.ts";
import { BatchDrainService } from "./services/generation/batch-drain.service.ts";
import { BatchRunnerService, DEFAULT_RUNNER_OPTIONS, type BatchRunnerOptions } from "./services/generation/batch-runner.service.ts";
import { BatchService } from "./services/generation/batch.service.ts";
import { BatchFeedService } from "./services/generation/batch-feed.service.ts";
import { QuestionExportService } from "./services/generation/question-export.service.ts";
import { BatchSupervisor, DEFAULT_SUPERVISOR_OPTIONS, type SupervisorOptions } from "./services/generation/batch-supervisor.service.ts";
import { DEFAULT_OUTBOX_OPTIONS, OutboxDispatcher, type OutboxDispatcherOptions } from "./services/outbox-dispatcher.service.ts";
import type { BatchJobRow } from "./repositories/batch-job.repository.ts";
import { DEFAULT_GENERATION_LIMITS, type GenerationLimits } from "./routes/generation.routes.ts";
import { createHealthPool } from "./routes/health.routes.ts";
import { rateLimit, streamLimit, type GenerationLimiters } from "./middleware/rate-limit.middleware.ts";
import { DEFAULT_STREAM_SLOTS_OPTIONS, StreamSlots, type StreamSlotsOptions } from "./lib/stream-slots.ts";
import type { GeneratorName } from "@batchgen/types";

export interface PipelineSettings {
  readonly generators: GeneratorsOptions;
  readonly runner: BatchRunnerOptions;
  readonly generate: BatchGenerateOptions;
  readonly control: BatchControlFnOptions;
  readonly outbox: OutboxDispatcherOptions;
  readonly supervisor: SupervisorOptions;
  readonly streamHeartbeatMs: number;
  readonly limits: GenerationLimits;
  /** How live-stream slots are kept alive across processes (see lib/stream-slots.ts). */
  readonly streamSlots: StreamSlotsOptions;
  /** A download whose client has taken nothing for this long is cut (its socket closed). */
  readonly downloadIdleMs: number;
}

export const DEFAULT_PIPELINE_SETTINGS: PipelineSettings = {
  generators: {},
  runner: DEFAULT_RUNNER_OPTIONS,
  generate: DEFAULT_BATCH_GENERATE_OPTIONS,
  control: DEFAULT_BATCH_CONTROL_OPTIONS,
  outbox: DEFAULT_OUTBOX_OPTIONS,
  supervisor: DEFAULT_SUPERVISOR_OPTIONS,
  streamHeartbeatMs: 15_000,
  limits: DEFAULT_GENERATION_LIMITS,
  streamSlots: DEFAULT_STREAM_SLOTS_OPTIONS,
  downloadIdleMs: DEFAULT_DOWNLOAD_IDLE_MS,
};

/** Pipeline settings from the validated config. */
export function pipelineSettingsFromConfig(config: Config): PipelineSettings {
  return {
    generators: {
      simulated: {
        latencyMedianMs: config.SIMULATED_LATENCY_MS,
        latencyJitter: config.SIMULATED_LATENCY_JITTER,
        transientFailureRate: config.SIMULATED_FAILURE_RATE,
        permanentFailureRate: config.SIMULATED_PERMANENT_FAILURE_RATE,
      },
      openai: config.OPENAI_MODEL
        ? {
            model: config.OPENAI_MODEL,
            baseURL: config.OPENAI_BASE_URL,
            apiKey: config.OPENAI_API_KEY,
            timeoutMs: config.OPENAI_TIMEOUT_MS,
            responseFormat: config.OPENAI_RESPONSE_FORMAT,
          }
        : undefined,
    },
    runner: {
      ...DEFAULT_RUNNER_OPTIONS,
      chunkBudgetMs: config.BATCH_CHUNK_BUDGET_MS,
      maxAttemptsPerItem: config.BATCH_ITEM_MAX_ATTEMPTS,
      retryBaseMs: config.BATCH_ITEM_RETRY_BASE_MS,
      heartbeatMs: config.BATCH_RUNNER_HEARTBEAT_MS,
      leaseStaleMs: config.BATCH_RUNNER_LEASE_STALE_MS,
    },
    generate: { ...DEFAULT_BATCH_GENERATE_OPTIONS, pausedWaitTimeout: `${config.BATCH_PAUSED_WAIT_SECONDS}s` },
    control: DEFAULT_BATCH_CONTROL_OPTIONS,
    outbox: DEFAULT_OUTBOX_OPTIONS,
    supervisor: {
      ...DEFAULT_SUPERVISOR_OPTIONS,
      resumeWatchdogMs: config.BATCH_RESUME_WATCHDOG_MS,
      leaseStaleMs: config.BATCH_RUNNER_LEASE_STALE_MS,
    },
    streamHeartbeatMs: 15_000,
    limits: {
      create: { burst: config.RATE_LIMIT_CREATE_BURST, perMinute: config.RATE_LIMIT_CREATE_PER_MINUTE },
      control: { burst: config.RATE_LIMIT_CONTROL_BURST, perMinute: config.RATE_LIMIT_CONTROL_PER_MINUTE },
      streamsPerUser: config.STREAMS_PER_USER,
    },
    streamSlots: { staleMs: config.STREAM_SLOT_STALE_MS, heartbeatMs: Math.max(100, Math.floor(config.STREAM_SLOT_STALE_MS / 3)) },
    downloadIdleMs: DEFAULT_DOWNLOAD_IDLE_MS,
  };
}

/** Everything the app serves, wired once (the composition root). */
export interface Pipeline {
  readonly inngest: Inngest;
  readonly functions: ReturnType<typeof createPipelineFunctions>;
  readonly batches: BatchService;
  readonly batchController: BatchController;
  readonly controls: BatchControlService;
  readonly batchControlController: BatchControlController;
  readonly questionExportController: QuestionExportController;
  readonly limits: GenerationLimits;
  /** The per-user limits as middleware, counted in PostgreSQL so every process shares them. */
  readonly limiters: GenerationLimiters;
  readonly streamSlots: StreamSlots;
  readonly outbox: OutboxDispatcher;
  readonly hub: BatchEventsHub;
  readonly runner: BatchRunnerService;
  readonly supervisor: BatchSupervisor;
  /**
   * GET /health's own connection (one, apart from the main pool): a busy main pool must not read
   * as a database that is down. Closed by stop().
   */
  readonly healthPool: Pool;
  start(): Promise<void>;
  /** Shutdown has begun: stop claiming new items, end live streams. */
  beginShutdown(): void;
  stop(): Promise<void>;
}

export function createPipeline(deps: {
  pool: Pool;
  databaseUrl: string;
  logger: Logger;
  inngest: Inngest;
  settings?: PipelineSettings;
  /** Tests swap in a generator with forced behaviour. */
  generatorFor?: (batch: BatchJobRow) => ItemGenerator;
}): Pipeline {
  const settings = deps.settings ?? DEFAULT_PIPELINE_SETTINGS;
  const generators = new Map<GeneratorName, ItemGenerator>();
  const generatorFor =
    deps.generatorFor ??
    ((batch: BatchJobRow) => {
      let generator = generators.get(batch.config.generator);
      if (!generator) {
        generator = createGenerator(batch.config.generator, settings.generators);
        generators.set(batch.config.generator, generator);
      }
      return generator;
    });

  const outbox = new OutboxDispatcher(deps.pool, deps.inngest, deps.logger.child({ component: "outbox" }), settings.outbox);
  const hub = new BatchEventsHub(deps.databaseUrl, deps.logger.child({ component: "progress" }));
  const healthPool = createHealthPool(deps.databaseUrl, (error) => deps.logger.warn({ err: error }, "idle health-check connection lost"));
  const runner = new BatchRunnerService(deps.pool, generatorFor, outbox, deps.logger.child({ component: "runner" }), settings.runner);
  const drain = new BatchDrainService(deps.pool, outbox, deps.logger.child({ component: "drain" }), settings.runner.leaseStaleMs);
  const supervisor = new BatchSupervisor(deps.pool, outbox, deps.logger.child({ component: "supervisor" }), settings.supervisor);
  const batches = new BatchService(deps.pool, outbox, listAvailableGenerators(settings.generators));
  const controls = new BatchControlService(new PgBatchControlStore(deps.pool), outbox);
  const limitsLogger = deps.logger.child({ component: "limits" });
  const streamSlots = new StreamSlots(deps.pool, limitsLogger, settings.streamSlots);
  const limiters: GenerationLimiters = {
    create: rateLimit("create", settings.limits.create, { pool: deps.pool, logger: limitsLogger }),
    control: rateLimit("control", settings.limits.control, { pool: deps.pool, logger: limitsLogger }),
    stream: streamLimit(settings.limits.streamsPerUser, streamSlots, limitsLogger),
  };
  const functions = createPipelineFunctions(deps.inngest, {
    runner,
    drain,
    generateOptions: settings.generate,
    controlOptions: settings.control,
  });
  return {
    inngest: deps.inngest,
    functions,
    batches,
    batchController: new BatchController(batches, new BatchFeedService(batches, hub, deps.logger.child({ component: "stream" })), deps.logger.child({ component: "stream" }), {
      heartbeatMs: settings.streamHeartbeatMs,
    }),
    controls,
    batchControlController: new BatchControlController(controls),
    questionExportController: new QuestionExportController(new QuestionExportService(deps.pool, batches), deps.logger.child({ component: "export" }), {
      idleMs: settings.downloadIdleMs,
    }),
    limits: settings.limits,
    limiters,
    streamSlots,
    outbox,
    hub,
    runner,
    supervisor,
    healthPool,
    start: async () => {
      await assertRunnerTickCallable(deps.pool);
      await hub.start();
      outbox.start();
      supervisor.start();
      streamSlots.start();
    },
    beginShutdown: () => {
      runner.drain();
      hub.closeStreams();
    },
    stop: async () => {
      runner.drain();
      await supervisor.stop();
      await outbox.stop();
      await hub.stop();
      await streamSlots.stop();
      if (!healthPool.ending) await healthPool.end();
    },
  };
}
