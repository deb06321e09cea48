import { isTerminalStatus, type AuthUser, type BatchProgress, type BatchStreamEvent } from "@batchgen/types";
import type { Logger } from "pino";
import type { BatchEventsHub, BatchNotification } from "../../lib/batch-events-hub.ts";
import { toBatchView } from "./batch-mapper.ts";
import type { BatchService } from "./batch.service.ts";

/** How many recent finishes the ETA is computed from (the same sample as a batch read). */
const ETA_SAMPLE = 30;

/** Where a feed's events go: the stream transport (SSE) in production, an array in tests. */
export interface FeedSink {
  event(event: BatchStreamEvent): void;
  /** The feed is over: the batch ended, the process is shutting down, or a snapshot failed. */
  end(): void;
}

export interface LiveFeed {
  /** Sends the snapshot, then every change in commit order; resolves once the snapshot is out. */
  start(sink: FeedSink): Promise<void>;
  /** Stops listening (the client left). Idempotent. */
  close(): void;
}

/**
 * The live view of one batch: what `GET …/stream` sends. It subscribes to the batch's changes
 * before it reads the snapshot, so nothing between the two is missed; holds changes back until
 * the snapshot is out and drops those older than it; builds every progress event with the same
 * view builder as a REST read, continuing the ETA from the snapshot's sample of finishes; reads a
 * fresh snapshot when the listener had to reconnect; and ends once the batch is terminal with
 * nothing in flight (it will not change again).
 */
export class BatchFeedService {
  constructor(
    private readonly batches: BatchService,
    private readonly hub: BatchEventsHub,
    private readonly logger: Logger,
  ) {}

  /** Checks ownership (404 / 403 before anything is sent) and subscribes. */
  async open(user: AuthUser, batchId: string): Promise<LiveFeed> {
    const batch = await this.batches.getOwnedBatch(user, batchId);
    const held: BatchNotification[] = [];
    let sink: FeedSink | undefined;
    let ready = false;
    let closed = false;
    let finishTimes: number[] = [];
    // Finishes at or before the snapshot's last one are in its sample already.
    let sampledUpTo = Number.NEGATIVE_INFINITY;

    const close = () => {
      if (closed) return;
      closed = true;
      unsubscribe();
    };
    const finish = () => {
      if (closed) return;
      close();
      sink?.end();
    };
    const emit = (event: BatchStreamEvent) => {
      if (!closed) sink?.event(event);
    };
    const endIfSettled = (view: Pick<BatchProgress, "status" | "inFlightItems">) => {
      if (!isTerminalStatus(view.status) || view.inFlightItems > 0) return;
      emit({ type: "end", status: view.status });
      finish();
    };
    const sendSnapshot = async () => {
      const fresh = await this.batches.getOwnedBatch(user, batch.id);
      const { detail, finishTimesMs } = await this.batches.detailWithFinishTimes(fresh);
      finishTimes = finishTimesMs.slice(-ETA_SAMPLE);
      sampledUpTo = finishTimes.at(-1) ?? Number.NEGATIVE_INFINITY;
      emit({ type: "snapshot", batch: detail });
      endIfSettled(detail);
      return Number(fresh.version);
    };
    const sendSnapshotThenHeld = async () => {
      const snapshotVersion = await sendSnapshot();
      ready = true;
      // Changes held while the snapshot was read may be in it already: replaying those would
      // roll the counters back. Versions follow commit order (updated_at does not: it is when a
      // transaction began).
      for (const note of held.splice(0)) {
        if (note.kind === "batch" && note.version !== undefined && note.version <= snapshotVersion) continue;
        handle(note);
      }
    };
    const handle = (note: BatchNotification) => {
      switch (note.kind) {
        case "shutdown":
          finish();
          return;
        case "resync":
          // Hold the changes that arrive while the fresh snapshot is read, as at the start: one
          // that committed after the read began must not be sent before the older snapshot.
          ready = false;
          sendSnapshotThenHeld().catch((error: unknown) => {
            this.logger.warn({ err: error, batchId }, "stream resync failed");
            finish();
          });
          return;
        case "item": {
          const at = Date.parse(note.updatedAt);
          if ((note.status === "completed" || note.status === "failed") && at > sampledUpTo) finishTimes.push(at);
          if (finishTimes.length > ETA_SAMPLE) finishTimes.shift();
          emit({ type: "item", item: { id: note.itemId, position: note.position, status: note.status } });
          return;
        }
        case "batch": {
          const view = toBatchView(note, finishTimes);
          emit({ type: "progress", batch: view });
          endIfSettled(view);
          return;
        }
      }
    };
    const unsubscribe = this.hub.subscribe(batch.id, (note) => (ready || note.kind === "shutdown" ? handle(note) : held.push(note)));

    return {
      start: async (target) => {
        sink = target;
        if (closed) {
          // Shut down (or closed) before it started: there is nothing to send.
          target.end();
          return;
        }
        await sendSnapshotThenHeld().catch((error: unknown) => {
          this.logger.warn({ err: error, batchId }, "stream snapshot failed");
          finish();
        });
      },
      close,
    };
  }
}
