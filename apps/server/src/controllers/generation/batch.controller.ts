import {
  batchItemStatusSchema,
  createBatchRequestSchema,
  isTerminalStatus,
  paginationQuerySchema,
  type BatchProgress,
  type BatchStreamEvent,
} from "@batchgen/types";
import type { Request, Response } from "express";
import type { Logger } from "pino";
import { currentUser } from "../../middleware/auth.middleware.ts";
import type { BatchEventsHub, BatchNotification } from "../../lib/batch-events-hub.ts";
import { parseOrThrow } from "../../lib/validate.ts";
import { toBatchProgress } from "../../services/generation/batch-mapper.ts";
import type { BatchService } from "../../services/generation/batch.service.ts";

const itemsQuerySchema = paginationQuerySchema.extend({ status: batchItemStatusSchema.optional() });

export interface StreamOptions {
  readonly heartbeatMs: number;
}

/** HTTP ↔ BatchService for the F-39 routes (create, list, read, items, live stream). */
export class BatchController {
  constructor(
    private readonly batches: BatchService,
    private readonly hub: BatchEventsHub,
    private readonly logger: Logger,
    private readonly streamOptions: StreamOptions = { heartbeatMs: 15_000 },
  ) {}

  handleCreate = async (req: Request, res: Response): Promise<void> => {
    const config = parseOrThrow(createBatchRequestSchema, req.body ?? {});
    const batch = await this.batches.createBatch(currentUser(req), config);
    res.status(201).location(`/api/v1/generation/batch/${batch.id}`).json({ data: batch, error: null });
  };

  handleList = async (req: Request, res: Response): Promise<void> => {
    const page = parseOrThrow(paginationQuerySchema, req.query, "query");
    res.json({ data: await this.batches.listBatches(currentUser(req), page), error: null });
  };

  handleGet = async (req: Request, res: Response): Promise<void> => {
    res.json({ data: await this.batches.getBatchDetail(currentUser(req), param(req, "batchId")), error: null });
  };

  handleItems = async (req: Request, res: Response): Promise<void> => {
    const page = parseOrThrow(itemsQuerySchema, req.query, "query");
    res.json({ data: await this.batches.listItems(currentUser(req), param(req, "batchId"), page), error: null });
  };

  /**
   * Server-sent events: a snapshot on connect, then every change in commit
   * order, heartbeats so proxies keep the connection, and a clean end when
   * the batch is terminal or the client goes away. The subscription starts
   * before the snapshot is read, so nothing between the two is missed.
   */
  handleStream = async (req: Request, res: Response): Promise<void> => {
    const user = currentUser(req);
    const batch = await this.batches.getOwnedBatch(user, param(req, "batchId"));
    // The client may have gone while ownership was checked; 'close' has fired then and never will again.
    if (req.destroyed || res.destroyed) return;

    const queue: BatchNotification[] = [];
    let ready = false;
    let closed = false;
    let sequence = 0;
    const finishTimes: number[] = [];

    const write = (event: BatchStreamEvent) => {
      if (closed) return;
      sequence += 1;
      res.write(`id: ${sequence}\nevent: ${event.type}\ndata: ${JSON.stringify(event)}\n\n`);
    };
    const close = () => {
      if (closed) return;
      closed = true;
      unsubscribe();
      clearInterval(heartbeat);
      res.end();
    };
    /** A terminal batch with nothing in flight will not change again: say so and end the stream. */
    const endIfSettled = (state: Pick<BatchProgress, "status" | "inFlightItems">) => {
      if (!isTerminalStatus(state.status) || state.inFlightItems > 0) return;
      write({ type: "end", status: state.status });
      close();
    };
    const sendSnapshot = async () => {
      const fresh = await this.batches.getOwnedBatch(user, batch.id);
      const detail = await this.batches.detailOf(fresh);
      write({ type: "snapshot", batch: detail });
      endIfSettled(detail);
      return Date.parse(detail.updatedAt);
    };
    const handle = (note: BatchNotification) => {
      if (note.kind === "shutdown") {
        close();
        return;
      }
      if (note.kind === "resync") {
        sendSnapshot().catch((error: unknown) => {
          this.logger.warn({ err: error }, "stream resync failed");
          close();
        });
        return;
      }
      if (note.kind === "item") {
        if (note.status === "completed" || note.status === "failed") finishTimes.push(Date.parse(note.updatedAt));
        if (finishTimes.length > 30) finishTimes.shift();
        write({ type: "item", item: { id: note.itemId, position: note.position, status: note.status } });
        return;
      }
      const progress = toBatchProgress(note, finishTimes);
      write({ type: "progress", batch: progress });
      endIfSettled(progress);
    };
    const unsubscribe = this.hub.subscribe(batch.id, (note) => (ready || note.kind === "shutdown" ? handle(note) : queue.push(note)));
    const heartbeat = setInterval(() => {
      if (!closed) res.write(": heartbeat\n\n");
    }, this.streamOptions.heartbeatMs);
    res.on("close", close);

    res.status(200);
    res.setHeader("Content-Type", "text/event-stream; charset=utf-8");
    res.setHeader("Cache-Control", "no-cache, no-transform");
    res.setHeader("Connection", "keep-alive");
    res.setHeader("X-Accel-Buffering", "no");
    res.flushHeaders();
    res.write("retry: 2000\n\n");

    let snapshotAt: number;
    try {
      snapshotAt = await sendSnapshot();
    } catch (error) {
      this.logger.warn({ err: error }, "stream snapshot failed");
      close();
      return;
    }
    ready = true;
    // Changes queued while the snapshot was read may be older than it: replaying those would roll
    // the counters back for a moment.
    for (const note of queue.splice(0)) {
      if (note.kind === "batch" && Date.parse(note.updatedAt) < snapshotAt) continue;
      handle(note);
    }
  };
}

/** A route parameter as a string (Express 5 types them loosely). */
export function param(req: Request, name: string): string {
  const value = req.params[name];
  return typeof value === "string" ? value : "";
}
