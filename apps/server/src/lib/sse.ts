import type { Response } from "express";

export interface SseOptions {
  /** A comment line this often keeps proxies from closing an idle stream. */
  readonly heartbeatMs: number;
  /**
   * Events waiting for a client that stopped reading (after `res.write()` said the socket is full)
   * may take this many bytes; past it the stream is cut and the client reconnects.
   */
  readonly maxQueuedBytes: number;
  /** The client stopped reading and was cut off; `queuedBytes` is what was waiting. */
  readonly onSlowReader: (queuedBytes: number) => void;
  /** The stream is over, whoever ended it (the client, `end()`, or a slow-reader cut). */
  readonly onClose: () => void;
}

export interface SseStream {
  send(type: string, data: unknown): void;
  /** Ends the stream after what is waiting (at most the bound). */
  end(): void;
}

/**
 * A server-sent-event response with backpressure: once `res.write()` returns false nothing more
 * goes to the socket until 'drain'; events wait in memory up to a bound, and no heartbeat queues
 * behind them. A reader that lets the queue pass the bound is cut off instead of growing memory.
 */
export function openSseStream(res: Response, options: SseOptions): SseStream {
  const waiting: string[] = [];
  let waitingBytes = 0;
  let congested = false;
  let closed = false;
  let sequence = 0;

  const stop = () => {
    if (closed) return false;
    closed = true;
    clearInterval(heartbeat);
    options.onClose();
    return true;
  };
  const cut = () => {
    const queuedBytes = waitingBytes;
    if (!stop()) return;
    waiting.length = 0;
    waitingBytes = 0;
    // end() would queue behind everything the reader never took: cut the connection instead.
    res.destroy();
    options.onSlowReader(queuedBytes);
  };
  const write = (chunk: string) => {
    if (closed) return;
    if (congested) {
      waiting.push(chunk);
      waitingBytes += Buffer.byteLength(chunk);
      if (waitingBytes > options.maxQueuedBytes) cut();
      return;
    }
    if (!res.write(chunk)) congested = true;
  };
  const flush = () => {
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
  const end = () => {
    if (!stop()) return;
    for (const chunk of waiting.splice(0)) res.write(chunk);
    waitingBytes = 0;
    res.end();
  };

  const heartbeat = setInterval(() => {
    // A congested stream is not idle: it has data waiting, so no heartbeat is queued behind it.
    if (!congested) write(": heartbeat\n\n");
  }, options.heartbeatMs);
  res.on("close", end);
  res.on("drain", flush);
  res.status(200);
  res.setHeader("Content-Type", "text/event-stream; charset=utf-8");
  res.setHeader("Cache-Control", "no-cache, no-transform");
  res.setHeader("Connection", "keep-alive");
  res.setHeader("X-Accel-Buffering", "no");
  res.flushHeaders();
  write("retry: 2000\n\n");

  return {
    send(type, data) {
      sequence += 1;
      write(`id: ${sequence}\nevent: ${type}\ndata: ${JSON.stringify(data)}\n\n`);
    },
    end,
  };
}
