import { batchItemStatusSchema, createBatchRequestSchema, paginationQuerySchema } from "@batchgen/types";
import type { Request, Response } from "express";
import type { Logger } from "pino";
import { currentUser } from "../../middleware/auth.middleware.ts";
import { openSseStream } from "../../lib/sse.ts";
import { readIdempotencyKey, sendSerializedData } from "../../lib/idempotency.ts";
import { parseOrThrow } from "../../lib/validate.ts";
import type { BatchFeedService } from "../../services/generation/batch-feed.service.ts";
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

/** HTTP ↔ BatchService for the F-39 routes (create, list, read, items, live stream). */
export class BatchController {
  constructor(
    private readonly batches: BatchService,
    private readonly feed: BatchFeedService,
    private readonly logger: Logger,
    private readonly streamOptions: StreamOptions = { heartbeatMs: 15_000 },
    /** Tests: told when a stream is dropped because its reader stopped reading. */
    private readonly onSlowReaderDropped?: (queuedBytes: number) => void,
  ) {}

  handleCreate = async (req: Request, res: Response): Promise<void> => {
    const config = parseOrThrow(createBatchRequestSchema, req.body ?? {});
    const result = await this.batches.createBatch(currentUser(req), config, { idempotencyKey: readIdempotencyKey(req) });
    if (result.replayed) res.setHeader("Idempotent-Replayed", "true");
    res.location(`/api/v1/generation/batch/${result.batch.id}`);
    // The text that was stored with the Idempotency-Key: a replay is the first answer byte for byte.
    sendSerializedData(res, result.statusCode, result.batchJson);
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
   * Server-sent events: the batch's live feed (a snapshot, then every change in commit order, and
   * `end` once it is over) over an SSE response with backpressure and heartbeats.
   */
  handleStream = async (req: Request, res: Response): Promise<void> => {
    const feed = await this.feed.open(currentUser(req), param(req, "batchId"));
    // The client may have gone while ownership was checked; 'close' has fired then and never will again.
    if (req.destroyed || res.destroyed) {
      feed.close();
      return;
    }
    const stream = openSseStream(res, {
      heartbeatMs: this.streamOptions.heartbeatMs,
      maxQueuedBytes: this.streamOptions.maxQueuedBytes ?? DEFAULT_STREAM_MAX_QUEUED_BYTES,
      onClose: () => feed.close(),
      onSlowReader: (queuedBytes) => {
        this.logger.warn({ queuedBytes }, "live stream dropped: its reader stopped reading (it reconnects to a fresh snapshot)");
        this.onSlowReaderDropped?.(queuedBytes);
      },
    });
    await feed.start({ event: (event) => stream.send(event.type, event), end: () => stream.end() });
  };
}

/** A route parameter as a string (Express 5 types them loosely). */
export function param(req: Request, name: string): string {
  const value = req.params[name];
  return typeof value === "string" ? value : "";
}
