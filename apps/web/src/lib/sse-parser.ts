/** One dispatched server-sent event (the WHATWG event-stream format, without the EventSource object). */
export interface ServerSentEvent {
  readonly event: string;
  readonly data: string;
  readonly id: string | null;
}

export interface SseParserCallbacks {
  readonly onEvent: (event: ServerSentEvent) => void;
  /** A `retry:` field: the server's suggested reconnection delay. */
  readonly onRetry?: (ms: number) => void;
}

/**
 * An incremental `text/event-stream` parser: feed it decoded text chunks as they arrive (a line or
 * an event may be split anywhere). Comments (`: heartbeat`) are skipped; a blank line dispatches.
 */
export function createSseParser({ onEvent, onRetry }: SseParserCallbacks) {
  let buffer = "";
  let eventName = "";
  let data: string[] = [];
  let lastId: string | null = null;
  let sawData = false;

  function dispatch() {
    if (sawData) onEvent({ event: eventName || "message", data: data.join("\n"), id: lastId });
    eventName = "";
    data = [];
    sawData = false;
  }

  function processLine(line: string) {
    if (line === "") {
      dispatch();
      return;
    }
    if (line.startsWith(":")) return;
    const colon = line.indexOf(":");
    const field = colon === -1 ? line : line.slice(0, colon);
    let value = colon === -1 ? "" : line.slice(colon + 1);
    if (value.startsWith(" ")) value = value.slice(1);
    switch (field) {
      case "event":
        eventName = value;
        break;
      case "data":
        data.push(value);
        sawData = true;
        break;
      case "id":
        if (!value.includes("\0")) lastId = value;
        break;
      case "retry":
        if (/^\d+$/.test(value)) onRetry?.(Number(value));
        break;
      default:
        break;
    }
  }

  return {
    push(chunk: string) {
      buffer += chunk;
      // Lines end in \n, \r\n or \r; keep an unfinished last line (and a lone trailing \r, which may
      // be the first half of \r\n) for the next chunk.
      for (;;) {
        const match = /\r\n|\n|\r(?!$)/.exec(buffer);
        if (!match) break;
        processLine(buffer.slice(0, match.index));
        buffer = buffer.slice(match.index + match[0].length);
      }
    },
  };
}
