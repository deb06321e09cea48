import type { BatchSummary } from "@batchgen/types";
import { render, screen, waitFor, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { describe, expect, it } from "vitest";
import { BatchList, mergeBatchRows } from "@/components/generation/batch-list";
import { createFakeFetch, fakeApiClient, makeBatch, ok } from "@/test/fake-api";

function summary(index: number, overrides: Partial<BatchSummary> = {}): BatchSummary {
  const { allowedActions: _a, eta: _e, ...batch } = makeBatch();
  return {
    ...batch,
    id: `00000000-0000-4000-8000-${String(index).padStart(12, "0")}`,
    config: { ...batch.config, topic: `Topic ${index}` },
    status: "completed",
    completedItems: 20,
    inFlightItems: 0,
    pendingItems: 0,
    ...overrides,
  };
}

describe("BatchList", () => {
  it("lists batches with a status badge, a progress bar and the created time, and loads more with the cursor", async () => {
    const fake = createFakeFetch({
      "GET /generation/batch": (request) =>
        request.url.searchParams.get("cursor") === "page-2"
          ? ok({ items: [summary(3)], nextCursor: null })
          : ok({
              items: [
                summary(1, { status: "running", completedItems: 8, inFlightItems: 2, pendingItems: 10 }),
                summary(2, { status: "paused", completedItems: 5, inFlightItems: 2, pendingItems: 13 }),
              ],
              nextCursor: "page-2",
            }),
    });
    const user = userEvent.setup();
    render(<BatchList api={fakeApiClient(fake.fetch)} refreshMs={60_000} />);

    const list = await screen.findByRole("list", { name: "Your batches" });
    const rows = within(list).getAllByRole("listitem");
    expect(rows).toHaveLength(2);
    expect(within(rows[0]!).getByRole("link", { name: "Topic 1" })).toHaveAttribute("href", `/generation/batch/${summary(1).id}`);
    expect(rows[0]).toHaveTextContent("Running");
    expect(within(rows[0]!).getByRole("progressbar", { name: "Progress of Topic 1" })).toHaveAttribute("aria-valuetext", "8 of 20 items");
    expect(within(rows[0]!).getByText(/^Created/).querySelector("time")).toHaveAttribute("datetime", "2026-11-30T12:00:00.000Z");
    // Draining: words, not only colour.
    expect(rows[1]).toHaveTextContent("Pausing…");

    await user.click(screen.getByRole("button", { name: "Load more" }));
    await waitFor(() => expect(within(list).getAllByRole("listitem")).toHaveLength(3));
    expect(within(list).getAllByRole("listitem")[2]).toHaveTextContent("Completed");
    expect(screen.queryByRole("button", { name: "Load more" })).not.toBeInTheDocument();
    expect(fake.requests.map((request) => request.url.searchParams.get("cursor"))).toEqual([null, "page-2"]);
  });

  it("offers a Download menu on finished batches with questions, and on no other row", async () => {
    const fake = createFakeFetch({
      "GET /generation/batch": () =>
        ok({
          items: [
            summary(1, { status: "running", completedItems: 8, inFlightItems: 2, pendingItems: 10 }),
            summary(2, { status: "cancelled", completedItems: 3, inFlightItems: 2, cancelledItems: 15 }),
            summary(3, { status: "completed_with_errors", completedItems: 18, failedItems: 2 }),
            summary(4, { status: "failed", completedItems: 0, failedItems: 20 }),
            summary(5),
          ],
          nextCursor: null,
        }),
    });
    render(<BatchList api={fakeApiClient(fake.fetch)} refreshMs={60_000} />);
    const rows = within(await screen.findByRole("list", { name: "Your batches" })).getAllByRole("listitem");
    const downloads = rows.map((row) => within(row).queryByRole("button", { name: /^Download/ })?.getAttribute("aria-label") ?? null);
    expect(downloads).toEqual([null, null, "Download the questions of Topic 3", null, "Download the questions of Topic 5"]);
  });

  it("says so when there are no batches yet", async () => {
    const fake = createFakeFetch({ "GET /generation/batch": () => ok({ items: [], nextCursor: null }) });
    render(<BatchList api={fakeApiClient(fake.fetch)} />);
    expect(await screen.findByText(/No batches yet/)).toBeInTheDocument();
  });

  it("refreshes rows while a batch is running and puts new batches on top", async () => {
    let calls = 0;
    const fake = createFakeFetch({
      "GET /generation/batch": () => {
        calls += 1;
        return calls === 1
          ? ok({ items: [summary(1, { status: "running", completedItems: 8, inFlightItems: 2, pendingItems: 10 })], nextCursor: null })
          : ok({ items: [summary(9, { status: "running" }), summary(1, { status: "completed" })], nextCursor: null });
      },
    });
    render(<BatchList api={fakeApiClient(fake.fetch)} refreshMs={50} />);
    const list = await screen.findByRole("list", { name: "Your batches" });
    await waitFor(() => expect(within(list).getAllByRole("listitem")).toHaveLength(2));
    const rows = within(list).getAllByRole("listitem");
    expect(rows[0]).toHaveTextContent("Topic 9");
    expect(rows[1]).toHaveTextContent("Completed");
  });

  it("mergeBatchRows replaces known rows in place", () => {
    const merged = mergeBatchRows([summary(1), summary(2)], [summary(2, { status: "failed" })]);
    expect(merged.map((row) => [row.config.topic, row.status])).toEqual([
      ["Topic 1", "completed"],
      ["Topic 2", "failed"],
    ]);
  });
});
