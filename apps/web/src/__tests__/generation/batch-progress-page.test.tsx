import type { BatchDetail, BatchItem } from "@batchgen/types";
import { render, screen, waitFor, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { describe, expect, it } from "vitest";
import { BatchProgressPage } from "@/components/generation/batch-progress-page";
import type { BatchStatusTransition } from "@/lib/batch-api";
import {
  API_BASE,
  BATCH_ID,
  createFakeFetch,
  createFakeStream,
  fail,
  fakeApiClient,
  makeBatch,
  makeItem,
  ok,
  type RecordedRequest,
} from "@/test/fake-api";

const PAUSED_BY_JONES: BatchStatusTransition = {
  id: "7d4f0a52-0d5e-4a59-8f64-1a2b3c4d5e6f",
  batchId: BATCH_ID,
  action: "pause",
  previousStatus: "running",
  newStatus: "paused",
  actorId: "11111111-1111-4111-8111-111111111111",
  actorEmail: "dr.jones@msm.edu",
  reason: null,
  requestId: null,
  createdAt: new Date().toISOString(),
};

function items(): BatchItem[] {
  return [
    ...Array.from({ length: 8 }, (_, position) => makeItem(position)),
    makeItem(8, { status: "failed", result: null, error: "The model did not answer in time", attempts: 3 }),
    makeItem(9, { status: "generating", result: null }),
    makeItem(10, { status: "pending", result: null }),
  ];
}

interface SetupOptions {
  batch?: BatchDetail;
  detail?: (request: RecordedRequest) => Response;
  history?: BatchStatusTransition[];
  routes?: Record<string, (request: RecordedRequest) => Response | Promise<Response>>;
}

// The fake server's batch: a successful pause changes what GET answers afterwards.
let serverBatch: BatchDetail = makeBatch();
function pauseServerSide(): Response {
  serverBatch = { ...serverBatch, status: "paused", allowedActions: ["resume", "cancel"], eta: null };
  return ok({ batchId: BATCH_ID, previousStatus: "running", newStatus: "paused", action: "pause", timestamp: new Date().toISOString() });
}

function setup(options: SetupOptions = {}) {
  const stream = createFakeStream();
  const batch = options.batch ?? makeBatch();
  serverBatch = batch;
  const base = `/generation/batch/${BATCH_ID}`;
  const fake = createFakeFetch({
    [`GET ${base}`]: options.detail ?? (() => ok(serverBatch)),
    [`GET ${base}/items`]: () => ok({ items: items(), nextCursor: null }),
    [`GET ${base}/history`]: () => ok({ items: options.history ?? [] }),
    [`GET ${base}/stream`]: () => stream.response(),
    ...options.routes,
  });
  const user = userEvent.setup();
  render(
    <BatchProgressPage
      batchId={BATCH_ID}
      api={fakeApiClient(fake.fetch)}
      getAccessToken={() => Promise.resolve("access-token-1")}
      streamOptions={{ fetch: fake.fetch, baseUrl: API_BASE, initialBackoffMs: 60_000 }}
    />,
  );
  return { ...fake, stream, user, batch };
}

const controls = () => screen.getByRole("group", { name: "Batch controls" });

/** Lets the page finish what it is doing (its item reads are at most one a second). */
const settle = () => new Promise((resolve) => setTimeout(resolve, 1_200));

describe("BatchProgressPage", () => {
  it("renders a running batch: title, status, progress bar '8 of 20 items', counts, ETA range, history, and the items", async () => {
    const { user } = setup({ history: [PAUSED_BY_JONES] });
    expect(await screen.findByRole("heading", { level: 1, name: "Cardiac physiology" })).toBeInTheDocument();
    expect(screen.getByTestId("batch-status")).toHaveTextContent("Running");

    const bar = screen.getByRole("progressbar", { name: "Batch progress" });
    expect(bar).toHaveAttribute("aria-valuenow", "8");
    expect(bar).toHaveAttribute("aria-valuemax", "20");
    expect(bar).toHaveAttribute("aria-valuetext", "8 of 20 items");
    expect(screen.getByTestId("batch-eta")).toHaveTextContent("about 2–3 min left");
    const counts = Object.fromEntries(
      ["completed", "failed", "in-flight", "pending", "cancelled"].map((name) => [name, screen.getByTestId(`count-${name}`).textContent]),
    );
    expect(counts).toEqual({ completed: "8", failed: "0", "in-flight": "2", pending: "10", cancelled: "0" });
    expect(within(controls()).getByRole("button", { name: "Pause" })).toBeEnabled();

    expect(await screen.findByText(/^Paused by dr\.jones@msm\.edu at \d{2}:\d{2}$/)).toBeInTheDocument();

    // A generated question opens to its stem, five options, the answer and the explanation.
    const list = await screen.findByRole("list", { name: /^Questions/ });
    const first = within(list).getAllByRole("listitem")[0]!;
    await user.click(within(first).getByText("Question 1"));
    const options = within(first).getByRole("list", { name: "Options for question 1" });
    expect(within(options).getAllByRole("listitem")).toHaveLength(5);
    expect(within(options).getAllByRole("listitem")[0]).toHaveTextContent("Sinoatrial node");
    expect(within(options).getAllByRole("listitem")[0]).toHaveTextContent("Correct answer");
    expect(first).toHaveTextContent("Answer: A");
    expect(first).toHaveTextContent("Explanation: The SA node depolarises fastest");

    // A failed item says why, in words.
    expect(within(list).getByText(/The model did not answer in time/)).toBeInTheDocument();
    expect(within(list).getByText("Generating")).toBeInTheDocument();
  });

  it("says 'Paused' while paused, and 'Pausing… 2 items finishing' while the last items drain", async () => {
    setup({ batch: makeBatch({ status: "paused", inFlightItems: 2, allowedActions: ["resume", "cancel"], eta: null }) });
    expect(await screen.findByTestId("batch-status")).toHaveTextContent("Pausing…");
    expect(within(controls()).getByRole("status")).toHaveTextContent("Pausing… 2 items finishing");
    expect(screen.getByTestId("batch-eta")).toHaveTextContent("Paused: 2 items are finishing");
  });

  it("follows the stream: progress and item events update the page, and the indicator says Live", async () => {
    const { stream } = setup();
    await screen.findByRole("heading", { level: 1, name: "Cardiac physiology" });
    stream.send({ type: "snapshot", batch: makeBatch() });
    await waitFor(() => expect(screen.getByTestId("stream-indicator")).toHaveTextContent("Live"));

    stream.send({ type: "item", item: { id: makeItem(10).id, position: 10, status: "generating" } });
    stream.send({
      type: "progress",
      batch: { ...makeBatch(), completedItems: 9, inFlightItems: 2, pendingItems: 9, updatedAt: "2026-11-30T12:03:01.000Z" },
    });
    await waitFor(() => expect(screen.getByRole("progressbar", { name: "Batch progress" })).toHaveAttribute("aria-valuenow", "9"));
    expect(screen.getByTestId("count-pending")).toHaveTextContent("9");

    stream.send({
      type: "progress",
      batch: { ...makeBatch(), status: "paused", allowedActions: ["resume", "cancel"], inFlightItems: 0, eta: null },
    });
    await waitFor(() => expect(screen.getByTestId("batch-status")).toHaveTextContent("Paused"));
    expect(within(controls()).getByRole("status")).toHaveTextContent("Batch paused");
    expect(within(controls()).getByRole("button", { name: "Resume" })).toBeEnabled();
  });

  it("shows Reconnecting when the stream drops", async () => {
    const { stream } = setup();
    await screen.findByRole("heading", { level: 1, name: "Cardiac physiology" });
    stream.send({ type: "snapshot", batch: makeBatch() });
    await waitFor(() => expect(screen.getByTestId("stream-indicator")).toHaveTextContent("Live"));
    stream.close();
    await waitFor(() => expect(screen.getByTestId("stream-indicator")).toHaveTextContent("Reconnecting…"));
  });

  it("pauses with an Idempotency-Key and turns Pause into Resume", async () => {
    const { user, requests } = setup({
      routes: {
        [`POST /generation/batch/${BATCH_ID}/pause`]: () =>
          pauseServerSide(),
      },
    });
    await user.click(await screen.findByRole("button", { name: "Pause" }));
    expect(await within(controls()).findByRole("button", { name: "Resume" })).toBeInTheDocument();
    const post = requests.find((request) => request.method === "POST");
    expect(post?.url.pathname).toBe(`/api/v1/generation/batch/${BATCH_ID}/pause`);
    expect(post?.headers.get("Idempotency-Key")).toMatch(/^[0-9a-f-]{32,36}$/);
    expect(post?.headers.get("Authorization")).toBe("Bearer access-token-1");
  });

  it("one click on Pause costs the POST, then the history and the items once, when the stream shows the pause", async () => {
    let history: BatchStatusTransition[] = [];
    const { user, requests, stream } = setup({
      routes: {
        [`GET /generation/batch/${BATCH_ID}/history`]: () => ok({ items: history }),
        [`POST /generation/batch/${BATCH_ID}/pause`]: () => {
          history = [PAUSED_BY_JONES];
          return pauseServerSide();
        },
      },
    });
    await screen.findByRole("heading", { level: 1, name: "Cardiac physiology" });
    stream.send({ type: "snapshot", batch: makeBatch() });
    await waitFor(() => expect(screen.getByTestId("stream-indicator")).toHaveTextContent("Live"));
    await screen.findByRole("list", { name: /^Questions/ });
    await settle();

    const before = requests.length;
    await user.click(within(controls()).getByRole("button", { name: "Pause" }));
    // The answer alone turns Pause into Resume, before the stream says anything.
    expect(await within(controls()).findByRole("button", { name: "Resume" })).toBeInTheDocument();
    // The stream: paused with two items finishing, then they finish.
    const paused = makeBatch({ status: "paused", allowedActions: ["resume", "cancel"], eta: null });
    stream.send({ type: "progress", batch: paused });
    expect(await screen.findByText(/^Paused by dr\.jones@msm\.edu at/)).toBeInTheDocument();
    stream.send({ type: "item", item: { id: makeItem(9).id, position: 9, status: "completed" } });
    stream.send({ type: "progress", batch: { ...paused, completedItems: 9, inFlightItems: 1 } });
    stream.send({ type: "item", item: { id: makeItem(10).id, position: 10, status: "completed" } });
    stream.send({ type: "progress", batch: { ...paused, completedItems: 10, inFlightItems: 0 } });
    await waitFor(() => expect(screen.getByTestId("batch-status")).toHaveTextContent("Paused"));
    await settle();

    const after = requests.slice(before).map((request) => `${request.method} ${request.url.pathname.replace(/^\/api\/v1\/generation\/batch\/[^/]+/, "")}`);
    expect(after).toEqual(["POST /pause", "GET /history", "GET /items"]);
  });

  it("ignores a malformed stream event and keeps following the stream", async () => {
    const { stream } = setup();
    await screen.findByRole("heading", { level: 1, name: "Cardiac physiology" });
    stream.send({ type: "snapshot", batch: makeBatch() });
    await waitFor(() => expect(screen.getByTestId("stream-indicator")).toHaveTextContent("Live"));
    stream.write('event: progress\ndata: {"type":"progress","batch":{"id":"not-a-batch","completedItems":"lots"}}\n\n');
    stream.write("event: item\ndata: {\n\n");
    stream.send({ type: "progress", batch: { ...makeBatch(), completedItems: 9, inFlightItems: 2, pendingItems: 9 } });
    await waitFor(() => expect(screen.getByRole("progressbar", { name: "Batch progress" })).toHaveAttribute("aria-valuenow", "9"));
    expect(screen.getByTestId("count-completed")).toHaveTextContent("9");
    expect(screen.getByTestId("stream-indicator")).toHaveTextContent("Live");
  });

  it("on a 409 from another tab, refreshes the batch and says so", async () => {
    let detailCalls = 0;
    const { user } = setup({
      detail: () => {
        detailCalls += 1;
        return ok(detailCalls === 1 ? makeBatch() : makeBatch({ status: "paused", inFlightItems: 0, allowedActions: ["resume", "cancel"], eta: null }));
      },
      routes: {
        [`POST /generation/batch/${BATCH_ID}/pause`]: () =>
          fail(409, "INVALID_TRANSITION", "Cannot pause a paused batch", {
            currentStatus: "paused",
            action: "pause",
            allowedActions: ["resume", "cancel"],
          }),
      },
    });
    await user.click(await screen.findByRole("button", { name: "Pause" }));
    expect(await screen.findByRole("alert")).toHaveTextContent(/Could not pause: the batch is already paused, changed in another tab/);
    expect(within(controls()).getByRole("button", { name: "Resume" })).toBeEnabled();
    expect(screen.getByTestId("batch-status")).toHaveTextContent("Paused");
    // The first read and one read after the 409.
    expect(detailCalls).toBe(2);
  });

  it("keeps the buttons usable after a network failure, and retries with the same Idempotency-Key", async () => {
    let attempts = 0;
    const { user, requests } = setup({
      routes: {
        [`POST /generation/batch/${BATCH_ID}/pause`]: () => {
          attempts += 1;
          if (attempts === 1) throw new TypeError("Failed to fetch");
          return pauseServerSide();
        },
      },
    });
    await user.click(await screen.findByRole("button", { name: "Pause" }));
    expect(await screen.findByRole("alert")).toHaveTextContent(/Could not reach the server to pause the batch/);
    const pause = within(controls()).getByRole("button", { name: "Pause" });
    expect(pause).toBeEnabled();
    expect(pause).not.toHaveAttribute("aria-disabled");
    await user.click(pause);
    expect(await within(controls()).findByRole("button", { name: "Resume" })).toBeInTheDocument();
    const keys = requests.filter((request) => request.method === "POST").map((request) => request.headers.get("Idempotency-Key"));
    expect(keys).toHaveLength(2);
    expect(keys[0]).toBe(keys[1]);
  });

  it("retries the failed items of a finished batch and follows it live again: a new stream, the history, and the end", async () => {
    const finished = makeBatch({
      status: "completed_with_errors",
      completedItems: 18,
      failedItems: 2,
      inFlightItems: 0,
      pendingItems: 0,
      allowedActions: ["retry_failed"],
      eta: null,
      finishedAt: new Date().toISOString(),
    });
    const streams = [createFakeStream(), createFakeStream()];
    let streamCalls = 0;
    let history: BatchStatusTransition[] = [];
    const { user, requests } = setup({
      batch: finished,
      routes: {
        [`GET /generation/batch/${BATCH_ID}/stream`]: () => streams[Math.min(streamCalls++, streams.length - 1)]!.response(),
        [`GET /generation/batch/${BATCH_ID}/history`]: () => ok({ items: history }),
        [`POST /generation/batch/${BATCH_ID}/retry-failed`]: () => {
          history = [{ ...PAUSED_BY_JONES, id: "8e5f1b63-1e6f-4b6a-9f75-2b3c4d5e6f70", action: "retry_failed", previousStatus: "completed_with_errors", newStatus: "running" }];
          return ok({ batchId: BATCH_ID, previousStatus: "completed_with_errors", newStatus: "running", action: "retry_failed", timestamp: new Date().toISOString() });
        },
      },
    });
    // The first stream: the finished batch, then its end.
    await screen.findByRole("heading", { level: 1, name: "Cardiac physiology" });
    streams[0]!.send({ type: "snapshot", batch: finished });
    streams[0]!.send({ type: "end", status: "completed_with_errors" });
    await waitFor(() => expect(screen.getByTestId("stream-indicator")).toHaveTextContent("Finished"));
    expect(streamCalls).toBe(1);

    await user.click(screen.getByRole("button", { name: "Retry 2 failed" }));
    const post = requests.find((request) => request.method === "POST");
    expect(post?.url.pathname).toBe(`/api/v1/generation/batch/${BATCH_ID}/retry-failed`);
    expect(post?.headers.get("Idempotency-Key")).toMatch(/^[0-9a-f-]{32,36}$/);
    // The answer alone makes the batch running: the story's controls come back, the retry button goes.
    expect(await within(controls()).findByRole("button", { name: "Pause" })).toBeEnabled();
    expect(screen.queryByRole("button", { name: /^Retry \d+ failed$/ })).not.toBeInTheDocument();
    expect(within(controls()).getByRole("status")).toHaveTextContent("Retrying 2 failed items: the batch is running again.");

    // The page opens the stream again and follows the running batch.
    await waitFor(() => expect(streamCalls).toBe(2));
    const running = makeBatch({ completedItems: 18, failedItems: 0, inFlightItems: 2, pendingItems: 0 });
    streams[1]!.send({ type: "snapshot", batch: running });
    await waitFor(() => expect(screen.getByTestId("stream-indicator")).toHaveTextContent("Live"));
    expect(screen.getByTestId("count-failed")).toHaveTextContent("0");
    expect(await screen.findByText(/^Failed items retried by dr\.jones@msm\.edu at \d{2}:\d{2}$/)).toBeInTheDocument();

    const done = { ...finished, status: "completed" as const, completedItems: 20, failedItems: 0, allowedActions: [] };
    streams[1]!.send({ type: "progress", batch: done });
    streams[1]!.send({ type: "end", status: "completed" });
    await waitFor(() => expect(screen.getByTestId("batch-status")).toHaveTextContent("Completed"));
    await waitFor(() => expect(screen.getByTestId("stream-indicator")).toHaveTextContent("Finished"));
    expect(within(controls()).getByRole("status")).toHaveTextContent("Batch completed");
    expect(screen.getByRole("progressbar", { name: "Batch progress" })).toHaveAttribute("aria-valuetext", "20 of 20 items");
    expect(streamCalls).toBe(2);
  });

  it("a completed batch: every control disabled, 'Batch completed', no ETA", async () => {
    setup({
      batch: makeBatch({
        status: "completed",
        completedItems: 20,
        inFlightItems: 0,
        pendingItems: 0,
        allowedActions: [],
        eta: null,
        finishedAt: new Date().toISOString(),
      }),
    });
    expect(await within(await screen.findByRole("group", { name: "Batch controls" })).findByRole("status")).toHaveTextContent(
      "Batch completed",
    );
    for (const button of within(controls()).getAllByRole("button")) expect(button).toBeDisabled();
    expect(screen.getByTestId("batch-eta")).toHaveTextContent(/^Finished at \d{2}:\d{2}$/);
    expect(screen.getByRole("progressbar", { name: "Batch progress" })).toHaveAttribute("aria-valuetext", "20 of 20 items");
  });

  it("says 'This batch is not yours' on 403, in words, with no controls", async () => {
    setup({ detail: () => fail(403, "FORBIDDEN", "You do not own this batch") });
    expect(await screen.findByRole("heading", { level: 1, name: "This batch is not yours" })).toBeInTheDocument();
    expect(screen.getByText(/belongs to another faculty member/)).toBeInTheDocument();
    expect(screen.queryByRole("button", { name: "Pause" })).not.toBeInTheDocument();
    expect(screen.getByRole("link", { name: "Go to your batches" })).toHaveAttribute("href", "/generation/batch");
  });

  it("says 'Batch not found' on 404", async () => {
    setup({ detail: () => fail(404, "NOT_FOUND", "Batch not found") });
    expect(await screen.findByRole("heading", { level: 1, name: "Batch not found" })).toBeInTheDocument();
  });

  it("offers Try again when the API cannot be reached", async () => {
    let calls = 0;
    const { user } = setup({
      detail: () => {
        calls += 1;
        if (calls === 1) throw new TypeError("Failed to fetch");
        return ok(makeBatch());
      },
    });
    expect(await screen.findByRole("heading", { level: 1, name: "Could not reach the server" })).toBeInTheDocument();
    await user.click(screen.getByRole("button", { name: "Try again" }));
    expect(await screen.findByRole("heading", { level: 1, name: "Cardiac physiology" })).toBeInTheDocument();
  });
});
