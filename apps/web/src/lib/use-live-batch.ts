"use client";

import { isTerminalStatus, type BatchControlAction, type BatchDetail, type BatchItemChange, type BatchStatus, type BatchStreamEvent } from "@batchgen/types";
import { useCallback, useEffect, useRef, useState } from "react";
import { ApiRequestError, type ApiClient } from "@/lib/api";
import { fetchBatchDetail, newIdempotencyKey, sendBatchControl } from "@/lib/batch-api";
import { applyControlResult, applyFetchedBatch, applyStreamBatch } from "@/lib/batch-progress-state";
import { openBatchStream, type BatchStreamConnection, type BatchStreamOptions } from "@/lib/batch-stream";

/** Test seams: timing and fetch of the underlying stream. */
export type LiveBatchStreamOptions = Partial<
  Pick<BatchStreamOptions, "fetch" | "baseUrl" | "initialBackoffMs" | "pollIntervalMs" | "failuresBeforePolling" | "random">
>;

/**
 * What the page hears from the stream besides the batch itself, for what the batch view does not
 * carry (the item list, the history).
 */
export interface LiveBatchListeners {
  /** The first read of the batch answered (again after `retry`). */
  readonly onLoad?: (batch: BatchDetail) => void;
  /**
   * The status the stream reports differs from the last one it reported (polls count as the
   * stream): called once per change, with the updated batch. A control answer never calls it.
   */
  readonly onStatusChange?: (batch: BatchDetail) => void;
  /** Every snapshot or progress event (and poll), after the batch was updated. */
  readonly onBatch?: (batch: BatchDetail, event: "snapshot" | "progress") => void;
  readonly onItem?: (item: BatchItemChange) => void;
  /** The batch is terminal and drained: nothing more will change. */
  readonly onEnd?: () => void;
}

export interface UseLiveBatchOptions extends LiveBatchListeners {
  readonly api: ApiClient;
  readonly getAccessToken: () => Promise<string | null>;
  readonly streamOptions?: LiveBatchStreamOptions;
}

export interface LiveBatch {
  /** Null until the first read answers. */
  readonly batch: BatchDetail | null;
  /** The first read failed (403, 404, unreachable), or the stream answered 403 / 404. */
  readonly loadError: unknown;
  readonly connection: BatchStreamConnection;
  /** Reads the batch again after a load error. */
  readonly retry: () => void;
  /**
   * POSTs pause / resume / cancel / retry-failed, one Idempotency-Key per intent, and rejects with
   * the API's error. A success applies the answer's `newStatus`; a 409 reads the batch once. When a
   * retry makes a finished batch run again, the stream (which ended with the batch) opens again.
   */
  readonly control: (action: BatchControlAction) => Promise<void>;
}

/**
 * The one writer of a batch on its page. It reads the batch once, then follows its live stream
 * (reconnecting, and polling while the stream is down); a control answer applies its new status at
 * once and the stream confirms it; a 409 reads the batch once. Nothing else reads or sets the batch,
 * so a click on Pause costs the POST plus what the stream's status change asks of the page.
 */
export function useLiveBatch(batchId: string, options: UseLiveBatchOptions): LiveBatch {
  const { api } = options;
  const [batch, setBatch] = useState<BatchDetail | null>(null);
  const [loadError, setLoadError] = useState<unknown>(null);
  const [attempt, setAttempt] = useState(0);
  const [connection, setConnection] = useState<BatchStreamConnection>("connecting");
  // Bumped to open the stream again: it ends with the batch, and a retry makes the batch run again.
  const [streamRun, setStreamRun] = useState(0);
  const streamEnded = useRef(false);
  // The batch as last written; every write goes through `write`, so the listeners see what the page will render.
  const current = useRef<BatchDetail | null>(null);
  // The last status the stream reported: status changes are counted against it, never against a
  // control answer's (which the stream confirms a moment later).
  const streamStatus = useRef<BatchStatus | null>(null);
  const controlKeys = useRef<Partial<Record<BatchControlAction, string>>>({});
  const mounted = useRef(true);
  // The latest options, read through a ref so a re-render never reconnects the stream.
  const latest = useRef(options);
  useEffect(() => {
    latest.current = options;
  });
  const initialStreamOptions = useRef(options.streamOptions);

  const write = useCallback((update: (batch: BatchDetail | null) => BatchDetail | null): BatchDetail | null => {
    const next = update(current.current);
    current.current = next;
    if (mounted.current) setBatch(next);
    return next;
  }, []);

  useEffect(() => {
    mounted.current = true;
    return () => {
      mounted.current = false;
    };
  }, []);

  // The first read: 403, 404 and an unreachable API end here, before any stream opens.
  useEffect(() => {
    const abort = new AbortController();
    fetchBatchDetail(api, batchId, abort.signal).then(
      (detail) => {
        streamStatus.current = detail.status;
        setLoadError(null);
        const loaded = write((batch) => applyFetchedBatch(batch, detail));
        if (loaded) latest.current.onLoad?.(loaded);
      },
      (error: unknown) => {
        if (!abort.signal.aborted) setLoadError(error);
      },
    );
    return () => abort.abort();
  }, [api, batchId, attempt, write]);

  const loaded = batch !== null && loadError === null;

  // The page shows a batch that runs again (a retry's answer) after its stream ended: follow it.
  const followAgainIfRunning = useCallback(() => {
    const shown = current.current;
    if (streamEnded.current && shown && !isTerminalStatus(shown.status)) {
      streamEnded.current = false;
      setStreamRun((value) => value + 1);
    }
  }, []);

  useEffect(() => {
    if (!loaded) return;
    const onEvent = (event: BatchStreamEvent) => {
      const listeners = latest.current;
      switch (event.type) {
        case "snapshot":
        case "progress": {
          const next = write((batch) => applyStreamBatch(batch, event.batch));
          const changed = streamStatus.current !== event.batch.status;
          streamStatus.current = event.batch.status;
          if (!next) return;
          if (changed) listeners.onStatusChange?.(next);
          listeners.onBatch?.(next, event.type);
          return;
        }
        case "item":
          listeners.onItem?.(event.item);
          return;
        case "end":
          listeners.onEnd?.();
          return;
      }
    };
    const handle = openBatchStream({
      ...initialStreamOptions.current,
      batchId,
      getAccessToken: () => latest.current.getAccessToken(),
      poll: () => fetchBatchDetail(latest.current.api, batchId),
      onEvent,
      onFatal: setLoadError,
      onConnectionChange: (next) => {
        setConnection(next);
        streamEnded.current = next === "ended";
        // A retry answered while the stream was sending its end: the batch runs again.
        if (next === "ended") followAgainIfRunning();
      },
    });
    return () => handle.close();
  }, [batchId, loaded, write, streamRun, followAgainIfRunning]);

  const control = useCallback(
    async (action: BatchControlAction) => {
      // One key per intent: retrying after a network failure reuses it, so a request that did reach
      // the server is answered with its first result instead of acting twice.
      const key = controlKeys.current[action] ?? newIdempotencyKey();
      controlKeys.current[action] = key;
      try {
        const result = await sendBatchControl(api, batchId, action, key);
        delete controlKeys.current[action];
        write((batch) => applyControlResult(batch, result));
        followAgainIfRunning();
      } catch (error) {
        if (error instanceof ApiRequestError) {
          delete controlKeys.current[action];
          // Someone else (another tab, another request) changed the batch: show where it really is
          // before the controls explain the 409. Its history follows the stream's status change.
          if (error.status === 409) {
            const shown = current.current;
            const fetched = await fetchBatchDetail(api, batchId).catch(() => null);
            if (fetched) {
              // A finished batch that runs again was retried elsewhere: its done-count went down,
              // which applyFetchedBatch would take for an older read. Nothing moved on the page
              // since the read was sent, so it is the newer state.
              const retriedElsewhere =
                shown !== null && current.current === shown && isTerminalStatus(shown.status) && !isTerminalStatus(fetched.status);
              write((batch) => (retriedElsewhere ? fetched : applyFetchedBatch(batch, fetched)));
              followAgainIfRunning();
            }
          }
        }
        throw error;
      }
    },
    [api, batchId, write, followAgainIfRunning],
  );

  const retry = useCallback(() => {
    setLoadError(null);
    setAttempt((value) => value + 1);
  }, []);

  return { batch, loadError, connection, retry, control };
}
