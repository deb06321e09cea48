import type { BatchStreamEvent } from "@batchgen/types";
import { afterEach, describe, expect, it, vi } from "vitest";
import { ApiRequestError } from "@/lib/api";
import { openBatchStream, parseStreamEvent, type BatchStreamConnection } from "@/lib/batch-stream";
import { createSseParser, type ServerSentEvent } from "@/lib/sse-parser";
import { API_BASE, BATCH_ID, createFakeStream, fail, makeBatch, makeItem } from "@/test/fake-api";

describe("createSseParser", () => {
  it("dispatches events split anywhere across chunks, skips heartbeats, and reads retry", () => {
    const events: ServerSentEvent[] = [];
    const retries: number[] = [];
    const parser = createSseParser({ onEvent: (event) => events.push(event), onRetry: (ms) => retries.push(ms) });
    const text = 'retry: 2000\n\nid: 1\nevent: progress\ndata: {"a":1}\n\n: heartbeat\n\r\nevent: end\r\ndata: {"b":\r\ndata: 2}\r\n\r\n';
    for (const char of text) parser.push(char);
    expect(retries).toEqual([2000]);
    expect(events).toEqual([
      { event: "progress", data: '{"a":1}', id: "1" },
      { event: "end", data: '{"b":\n2}', id: "1" },
    ]);
  });
});

function harness(overrides: { fetch: typeof fetch; poll?: () => Promise<ReturnType<typeof makeBatch>> }) {
  const events: BatchStreamEvent[] = [];
  const connections: BatchStreamConnection[] = [];
  const fatal: ApiRequestError[] = [];
  const poll = vi.fn(overrides.poll ?? (() => Promise.resolve(makeBatch())));
  const handle = openBatchStream({
    batchId: BATCH_ID,
    baseUrl: API_BASE,
    getAccessToken: () => "access-token-1",
    fetch: overrides.fetch,
    onEvent: (event) => events.push(event),
    onConnectionChange: (connection) => connections.push(connection),
    onFatal: (error) => fatal.push(error),
    poll,
    initialBackoffMs: 1_000,
    maxBackoffMs: 8_000,
    failuresBeforePolling: 3,
    pollIntervalMs: 3_000,
    random: () => 0.5,
  });
  return { events, connections, fatal, poll, handle };
}

afterEach(() => {
  vi.useRealTimers();
});

describe("parseStreamEvent", () => {
  it("parses each kind of event with the shared schema", () => {
    const snapshot = { type: "snapshot", batch: makeBatch() } as const;
    expect(parseStreamEvent("snapshot", JSON.stringify(snapshot))).toEqual(snapshot);
    const item = { type: "item", item: { id: makeItem(3).id, position: 3, status: "generating" } } as const;
    expect(parseStreamEvent("item", JSON.stringify(item))).toEqual(item);
    expect(parseStreamEvent("end", '{"type":"end","status":"cancelled"}')).toEqual({ type: "end", status: "cancelled" });
  });

  it.each([
    ["not JSON", "progress", "{not json"],
    ["JSON null", "progress", "null"],
    ["a progress without its batch", "progress", '{"type":"progress"}'],
    ["a batch with a count that is not a number", "progress", JSON.stringify({ type: "progress", batch: { ...makeBatch(), completedItems: "8" } })],
    ["an unknown status", "end", '{"type":"end","status":"exploded"}'],
    ["an item whose id is not a UUID", "item", '{"type":"item","item":{"id":"i-9","position":9,"status":"completed"}}'],
    ["a type that differs from the event name", "progress", JSON.stringify({ type: "snapshot", batch: makeBatch() })],
    ["an event this page does not know", "message", '{"type":"message"}'],
  ])("returns null for %s", (_what, event, data) => {
    expect(parseStreamEvent(event, data)).toBeNull();
  });
});

describe("openBatchStream", () => {
  it("ignores a malformed event and goes on with the next one", async () => {
    const stream = createFakeStream();
    const fetchImpl = vi.fn(() => Promise.resolve(stream.response()));
    const { events, connections } = harness({ fetch: fetchImpl });
    await vi.waitFor(() => expect(fetchImpl).toHaveBeenCalledTimes(1));
    stream.send({ type: "snapshot", batch: makeBatch() });
    await vi.waitFor(() => expect(connections).toEqual(["connecting", "live"]));
    stream.write('event: progress\ndata: {"type":"progress","batch":{"id":"nope"}}\n\n');
    stream.write("event: progress\ndata: {truncated\n\n");
    stream.send({ type: "progress", batch: { ...makeBatch(), completedItems: 9, pendingItems: 9 } });
    await vi.waitFor(() => expect(events).toHaveLength(2));
    expect(events.map((event) => event.type)).toEqual(["snapshot", "progress"]);
    expect(connections).toEqual(["connecting", "live"]);
    expect(fetchImpl).toHaveBeenCalledTimes(1);
  });

  it("sends the Bearer token, goes live on the snapshot, passes events on, and ends on 'end'", async () => {
    const stream = createFakeStream();
    const fetchImpl = vi.fn((_url: string, _init?: RequestInit) => Promise.resolve(stream.response()));
    const { events, connections } = harness({ fetch: fetchImpl as unknown as typeof fetch });
    await vi.waitFor(() => expect(fetchImpl).toHaveBeenCalledTimes(1));
    const [url, init] = fetchImpl.mock.calls[0]!;
    expect(url).toBe(`${API_BASE}/generation/batch/${BATCH_ID}/stream`);
    expect(new Headers(init?.headers).get("Authorization")).toBe("Bearer access-token-1");
    expect(connections).toEqual(["connecting"]);

    stream.write("retry: 2000\n\n");
    stream.send({ type: "snapshot", batch: makeBatch() });
    await vi.waitFor(() => expect(connections).toEqual(["connecting", "live"]));
    stream.write(": heartbeat\n\n");
    stream.send({ type: "item", item: { id: makeItem(9).id, position: 9, status: "completed" } });
    stream.send({ type: "end", status: "completed" });
    await vi.waitFor(() => expect(connections).toEqual(["connecting", "live", "ended"]));
    expect(events.map((event) => event.type)).toEqual(["snapshot", "item", "end"]);
    expect(fetchImpl).toHaveBeenCalledTimes(1);
  });

  it("reconnects with growing backoff when the stream drops, then falls back to polling, and stops polling once live again", async () => {
    vi.useFakeTimers();
    const streams: ReturnType<typeof createFakeStream>[] = [];
    let failNext = true;
    const fetchImpl = vi.fn(() => {
      if (failNext) return Promise.reject(new TypeError("Failed to fetch"));
      const stream = createFakeStream();
      streams.push(stream);
      return Promise.resolve(stream.response());
    });
    const { connections, poll, events } = harness({ fetch: fetchImpl });

    await vi.advanceTimersByTimeAsync(0);
    expect(fetchImpl).toHaveBeenCalledTimes(1);
    expect(connections.at(-1)).toBe("reconnecting");
    // Backoff 1 s, then 2 s (random 0.5 → factor 1.0).
    await vi.advanceTimersByTimeAsync(999);
    expect(fetchImpl).toHaveBeenCalledTimes(1);
    await vi.advanceTimersByTimeAsync(1);
    expect(fetchImpl).toHaveBeenCalledTimes(2);
    await vi.advanceTimersByTimeAsync(2_000);
    expect(fetchImpl).toHaveBeenCalledTimes(3);
    // Third failure in a row: polling starts at once and repeats every 3 s.
    expect(connections.at(-1)).toBe("polling");
    expect(poll).toHaveBeenCalledTimes(1);
    await vi.advanceTimersByTimeAsync(3_000);
    expect(poll).toHaveBeenCalledTimes(2);
    expect(events.filter((event) => event.type === "snapshot")).toHaveLength(2);

    // The next attempt (after 4 s) gets through: live again, and polling stops.
    failNext = false;
    await vi.advanceTimersByTimeAsync(1_000);
    expect(fetchImpl).toHaveBeenCalledTimes(4);
    streams[0]!.send({ type: "snapshot", batch: makeBatch() });
    await vi.advanceTimersByTimeAsync(0);
    expect(connections.at(-1)).toBe("live");
    const polls = poll.mock.calls.length;
    await vi.advanceTimersByTimeAsync(10_000);
    expect(poll).toHaveBeenCalledTimes(polls);

    // A stream that closes before the batch ended is a drop too.
    streams[0]!.close();
    await vi.advanceTimersByTimeAsync(0);
    expect(connections.at(-1)).toBe("reconnecting");
    await vi.advanceTimersByTimeAsync(1_000);
    expect(fetchImpl).toHaveBeenCalledTimes(5);
  });

  it("stops for good on 403 and reports it, without retrying", async () => {
    vi.useFakeTimers();
    const fetchImpl = vi.fn(() => Promise.resolve(fail(403, "FORBIDDEN", "This batch belongs to someone else")));
    const { fatal, connections } = harness({ fetch: fetchImpl });
    await vi.advanceTimersByTimeAsync(0);
    expect(fatal).toHaveLength(1);
    expect(fatal[0]).toBeInstanceOf(ApiRequestError);
    expect(fatal[0]!.status).toBe(403);
    await vi.advanceTimersByTimeAsync(60_000);
    expect(fetchImpl).toHaveBeenCalledTimes(1);
    expect(connections).toEqual(["connecting"]);
  });

  it("waits at least a 429's Retry-After before trying again", async () => {
    vi.useFakeTimers();
    const fetchImpl = vi.fn(() => {
      const response = fail(429, "RATE_LIMITED", "At most 10 live streams per user; close one first");
      response.headers.set("Retry-After", "5");
      return Promise.resolve(response);
    });
    const { connections, fatal } = harness({ fetch: fetchImpl });
    await vi.advanceTimersByTimeAsync(0);
    expect(connections.at(-1)).toBe("reconnecting");
    expect(fatal).toHaveLength(0);
    await vi.advanceTimersByTimeAsync(4_999);
    expect(fetchImpl).toHaveBeenCalledTimes(1);
    await vi.advanceTimersByTimeAsync(1);
    expect(fetchImpl).toHaveBeenCalledTimes(2);
  });

  it("ends from polling when the batch turns out finished", async () => {
    vi.useFakeTimers();
    const fetchImpl = vi.fn(() => Promise.reject(new TypeError("Failed to fetch")));
    const { connections, events, handle } = harness({
      fetch: fetchImpl,
      poll: () => Promise.resolve(makeBatch({ status: "completed", inFlightItems: 0, pendingItems: 0, completedItems: 20 })),
    });
    await vi.advanceTimersByTimeAsync(3_000);
    expect(connections.at(-1)).toBe("ended");
    expect(events.at(-1)).toEqual({ type: "end", status: "completed" });
    const calls = fetchImpl.mock.calls.length;
    await vi.advanceTimersByTimeAsync(60_000);
    expect(fetchImpl).toHaveBeenCalledTimes(calls);
    handle.close();
  });

  it("closes cleanly: no more requests after close()", async () => {
    vi.useFakeTimers();
    const fetchImpl = vi.fn(() => Promise.reject(new TypeError("Failed to fetch")));
    const { handle } = harness({ fetch: fetchImpl });
    await vi.advanceTimersByTimeAsync(0);
    handle.close();
    await vi.advanceTimersByTimeAsync(60_000);
    expect(fetchImpl).toHaveBeenCalledTimes(1);
  });
});
