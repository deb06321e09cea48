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
  /**
   * Events waiting for a client that stopped reading (after `res.write()` said the socket is full)
   * may take this many bytes; past it the stream is dropped and the client reconnects to a fresh snapshot.
   */
  readonly maxQueuedBytes?: number;
}

export const DEFAULT_STREAM_MAX_QUEUED_BYTES = 256 * 1024;

/** How many recent finishes the ETA is computed from (the same sample as a batch read). */
const ETA_SAMPLE = 30;

/** HTTP ↔ BatchService for the F-39 routes (create, list, read, items, live stream). */
export class BatchController {
  constructor(
    private readonly batches: BatchService,
    private readonly hub: BatchEventsHub,
    private readonly logger: Logger,
    private readonly streamOptions: StreamOptions = { heartbeatMs: 15_000 },
    /** Tests: told when a stream is dropped because its reader stopped reading. */
    private readonly onSlowReaderDropped?: (queuedBytes: number) => void,
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
    let finishTimes: number[] = [];
    // Backpressure: once res.write() returns false, nothing more goes to the socket until 'drain';
    // events wait here, and a reader that lets this grow past the bound is dropped.
    const maxQueuedBytes = this.streamOptions.maxQueuedBytes ?? DEFAULT_STREAM_MAX_QUEUED_BYTES;
    const waiting: string[] = [];
    let waitingBytes = 0;
    let congested = false;

    const send = (chunk: string) => {
      if (closed) return;
      if (congested) {
        waiting.push(chunk);
        waitingBytes += Buffer.byteLength(chunk);
        if (waitingBytes > maxQueuedBytes) dropSlowReader();
        return;
      }
      if (!res.write(chunk)) congested = true;
    };
    const flushWaiting = () => {
      congested = false;
      while (waiting.length > 0 && !closed) {
        const chunk = waiting.shift()!;
        waitingBytes -= Buffer.byteLength(chunk);
        if (!res.write(chunk)) {
          congested = true;
          return;
        }
      }
    };
    const write = (event: BatchStreamEvent) => {
      if (closed) return;
      sequence += 1;
      send(`id: ${sequence}\nevent: ${event.type}\ndata: ${JSON.stringify(event)}\n\n`);
    };
    const stopListening = () => {
      closed = true;
      unsubscribe();
      clearInterval(heartbeat);
    };
    /** Ends the stream after what is waiting (at most the bound), e.g. the final `end` event. */
    const close = () => {
      if (closed) return;
      stopListening();
      for (const chunk of waiting.splice(0)) res.write(chunk);
      waitingBytes = 0;
      res.end();
    };
    const dropSlowReader = () => {
      const queuedBytes = waitingBytes;
      this.logger.warn({ batchId: batch.id, queuedBytes }, "live stream dropped: its reader stopped reading (it reconnects to a fresh snapshot)");
      stopListening();
      waiting.length = 0;
      waitingBytes = 0;
      // end() would queue behind everything the reader never took: cut the connection instead.
      res.destroy();
      this.onSlowReaderDropped?.(queuedBytes);
    };
    /** A terminal batch with nothing in flight will not change again: say so and end the stream. */
    const endIfSettled = (state: Pick<BatchProgress, "status" | "inFlightItems">) => {
      if (!isTerminalStatus(state.status) || state.inFlightItems > 0) return;
      write({ type: "end", status: state.status });
      close();
    };
    const sendSnapshot = async () => {
      const fresh = await this.batches.getOwnedBatch(user, batch.id);
      const { detail, finishTimesMs } = await this.batches.detailWithFinishTimes(fresh);
      // Progress events continue from the snapshot's sample, so they keep its ETA.
      finishTimes = finishTimesMs.slice(-ETA_SAMPLE);
      write({ type: "snapshot", batch: detail });
      endIfSettled(detail);
      return { snapshotAt: Date.parse(detail.updatedAt), lastFinish: finishTimes.at(-1) ?? Number.NEGATIVE_INFINITY };
    };
    // Finishes at or before the snapshot's last one are in its sample already.
    let sampledUpTo = Number.NEGATIVE_INFINITY;
    const handle = (note: BatchNotification) => {
      if (note.kind === "shutdown") {
        close();
        return;
      }
      if (note.kind === "resync") {
        sendSnapshot()
          .then(({ lastFinish }) => {
            sampledUpTo = lastFinish;
          })
          .catch((error: unknown) => {
            this.logger.warn({ err: error }, "stream resync failed");
            close();
          });
        return;
      }
      if (note.kind === "item") {
        const at = Date.parse(note.updatedAt);
        if ((note.status === "completed" || note.status === "failed") && at > sampledUpTo) finishTimes.push(at);
        if (finishTimes.length > ETA_SAMPLE) finishTimes.shift();
        write({ type: "item", item: { id: note.itemId, position: note.position, status: note.status } });
        return;
      }
      const progress = toBatchProgress(note, finishTimes);
      write({ type: "progress", batch: progress });
      endIfSettled(progress);
    };
    const unsubscribe = this.hub.subscribe(batch.id, (note) => (ready || note.kind === "shutdown" ? handle(note) : queue.push(note)));
    const heartbeat = setInterval(() => {
      // A congested stream is not idle: it has data waiting, so no heartbeat is queued behind it.
      if (!closed && !congested) send(": heartbeat\n\n");
    }, this.streamOptions.heartbeatMs);
    res.on("close", close);
    res.on("drain", flushWaiting);

    res.status(200);
    res.setHeader("Content-Type", "text/event-stream; charset=utf-8");
    res.setHeader("Cache-Control", "no-cache, no-transform");
    res.setHeader("Connection", "keep-alive");
    res.setHeader("X-Accel-Buffering", "no");
    res.flushHeaders();
    send("retry: 2000\n\n");

    let snapshotAt: number;
    try {
      ({ snapshotAt, lastFinish: sampledUpTo } = await sendSnapshot());
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
