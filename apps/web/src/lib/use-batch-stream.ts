"use client";

import type { BatchDetail, BatchStreamEvent } from "@batchgen/types";
import { useEffect, useRef, useState } from "react";
import type { ApiRequestError } from "@/lib/api";
import { openBatchStream, type BatchStreamConnection, type BatchStreamOptions } from "@/lib/batch-stream";

export interface UseBatchStreamOptions {
  readonly batchId: string;
  readonly getAccessToken: () => Promise<string | null>;
  readonly poll: () => Promise<BatchDetail>;
  readonly onEvent: (event: BatchStreamEvent) => void;
  readonly onFatal: (error: ApiRequestError) => void;
  /** False until the page knows the batch exists and is the caller's. */
  readonly enabled?: boolean;
  /** Test seams: timing and fetch of the underlying stream. */
  readonly streamOptions?: Partial<Pick<BatchStreamOptions, "fetch" | "baseUrl" | "initialBackoffMs" | "pollIntervalMs" | "failuresBeforePolling" | "random">>;
}

/** Follows a batch's live stream for as long as the component is mounted; returns the connection state. */
export function useBatchStream({
  batchId,
  getAccessToken,
  poll,
  onEvent,
  onFatal,
  enabled = true,
  streamOptions,
}: UseBatchStreamOptions): BatchStreamConnection {
  const [connection, setConnection] = useState<BatchStreamConnection>("connecting");
  // The stream lives as long as the batch id does; the latest callbacks are read through a ref so a
  // re-render never reconnects it.
  const callbacks = useRef({ getAccessToken, poll, onEvent, onFatal });
  useEffect(() => {
    callbacks.current = { getAccessToken, poll, onEvent, onFatal };
  });
  const options = useRef(streamOptions);

  useEffect(() => {
    if (!enabled) return;
    const handle = openBatchStream({
      ...options.current,
      batchId,
      getAccessToken: () => callbacks.current.getAccessToken(),
      poll: () => callbacks.current.poll(),
      onEvent: (event) => callbacks.current.onEvent(event),
      onFatal: (error) => callbacks.current.onFatal(error),
      onConnectionChange: setConnection,
    });
    return () => handle.close();
  }, [batchId, enabled]);

  return connection;
}
