import { allowedActionsFor, type BatchStatus } from "@batchgen/types";
import { render, screen, waitFor, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { useState } from "react";
import { describe, expect, it, vi } from "vitest";
import { BatchControls, type BatchControlsProps } from "@/components/generation/BatchControls";
import { ApiNetworkError, ApiRequestError } from "@/lib/api";

// The story's fixtures (section 9): 20 items, 8 completed. The allowed actions are what the
// server's batch view says for the status.
function renderControls(overrides: Partial<BatchControlsProps> = {}) {
  const status = overrides.status ?? "running";
  const props: BatchControlsProps = {
    status,
    allowedActions: allowedActionsFor(status),
    pendingItems: 10,
    inFlightItems: 2,
    completedItems: 8,
    failedItems: 0,
    onPause: vi.fn(() => Promise.resolve()),
    onResume: vi.fn(() => Promise.resolve()),
    onCancel: vi.fn(() => Promise.resolve()),
    onRetryFailed: vi.fn(() => Promise.resolve()),
    ...overrides,
  };
  const user = userEvent.setup();
  const view = render(<BatchControls {...props} />);
  return { props, user, ...view };
}

function deferred() {
  let resolve: () => void = () => {};
  let reject: (error: unknown) => void = () => {};
  const promise = new Promise<void>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

const controls = () => screen.getByRole("group", { name: "Batch controls" });

describe("BatchControls", () => {
  it("shows Pause and Cancel buttons when batch is running", () => {
    renderControls({ status: "running" });
    const group = controls();
    expect(within(group).getByRole("button", { name: "Pause" })).toBeEnabled();
    expect(within(group).getByRole("button", { name: "Cancel" })).toBeEnabled();
    expect(within(group).queryByRole("button", { name: "Resume" })).not.toBeInTheDocument();
  });

  it("shows Resume and Cancel buttons when batch is paused", () => {
    renderControls({ status: "paused", inFlightItems: 0 });
    const group = controls();
    expect(within(group).getByRole("button", { name: "Resume" })).toBeEnabled();
    expect(within(group).getByRole("button", { name: "Cancel" })).toBeEnabled();
    expect(within(group).queryByRole("button", { name: "Pause" })).not.toBeInTheDocument();
  });

  it("disables all buttons when batch is in terminal state", () => {
    for (const status of ["completed", "completed_with_errors", "failed", "cancelled"] as const) {
      const { unmount } = renderControls({ status, inFlightItems: 0 });
      const buttons = within(controls()).getAllByRole("button");
      expect(buttons.map((button) => button.textContent)).toEqual(["Pause", "Cancel"]);
      for (const button of buttons) expect(button).toBeDisabled();
      unmount();
    }
  });

  it("opens CancelConfirmDialog on cancel button click", async () => {
    const { user, props } = renderControls();
    await user.click(screen.getByRole("button", { name: "Cancel" }));
    const dialog = await screen.findByRole("alertdialog", { name: "Cancel Batch Generation?" });
    expect(dialog).toHaveTextContent(
      "This will stop all pending items. In-progress items will complete. Completed items will be preserved.",
    );
    expect(within(dialog).getByRole("button", { name: "Keep Running" })).toHaveFocus();
    expect(props.onCancel).not.toHaveBeenCalled();
  });

  it("calls onCancel callback after confirmation", async () => {
    const { user, props } = renderControls();
    await user.click(screen.getByRole("button", { name: "Cancel" }));
    const dialog = await screen.findByRole("alertdialog");
    await user.click(within(dialog).getByRole("button", { name: "Cancel Batch" }));
    expect(props.onCancel).toHaveBeenCalledTimes(1);
    await waitFor(() => expect(screen.queryByRole("alertdialog")).not.toBeInTheDocument());
  });

  describe("allowed actions come from the server's view", () => {
    it("offers only what allowedActions lists", () => {
      renderControls({ status: "running", allowedActions: ["cancel"] });
      const group = controls();
      expect(within(group).getByRole("button", { name: "Cancel" })).toBeEnabled();
      expect(within(group).queryByRole("button", { name: "Pause" })).not.toBeInTheDocument();
      expect(within(group).queryByRole("button", { name: "Resume" })).not.toBeInTheDocument();
    });

    it("keeps a terminal batch's buttons disabled even if a stale view still allows actions", () => {
      renderControls({ status: "completed", allowedActions: ["pause", "cancel"], inFlightItems: 0 });
      for (const button of within(controls()).getAllByRole("button")) expect(button).toBeDisabled();
    });
  });

  describe("terminal label", () => {
    it.each([
      ["completed", "Batch completed"],
      ["completed_with_errors", "Batch completed with errors"],
      ["failed", "Batch failed"],
      ["cancelled", "Batch cancelled"],
    ] as const)("labels a %s batch '%s'", (status, label) => {
      renderControls({ status, inFlightItems: 0 });
      expect(screen.getByRole("status")).toHaveTextContent(label);
    });
  });

  describe("processing state", () => {
    it("shows a busy Pause button, disables the others, and sends one request for a double click", async () => {
      const call = deferred();
      const onPause = vi.fn(() => call.promise);
      const { user } = renderControls({ onPause });
      const pause = screen.getByRole("button", { name: "Pause" });
      await user.dblClick(pause);
      expect(onPause).toHaveBeenCalledTimes(1);
      expect(pause).toHaveAttribute("aria-disabled", "true");
      expect(pause).toHaveAttribute("aria-busy", "true");
      expect(pause.querySelector('[data-slot="spinner"]')).not.toBeNull();
      const cancel = screen.getByRole("button", { name: "Cancel" });
      expect(cancel).toHaveAttribute("aria-disabled", "true");
      await user.click(cancel);
      expect(screen.queryByRole("alertdialog")).not.toBeInTheDocument();
      call.resolve();
      await waitFor(() => expect(pause).not.toHaveAttribute("aria-busy"));
      expect(pause).not.toHaveAttribute("aria-disabled");
      expect(pause).toBeEnabled();
    });

    it("shows the Resume the page has in flight as processing", async () => {
      const call = deferred();
      const onResume = vi.fn(() => call.promise);
      const { user } = renderControls({ status: "paused", inFlightItems: 0, onResume });
      const resume = screen.getByRole("button", { name: "Resume" });
      await user.click(resume);
      expect(resume).toHaveAttribute("aria-disabled", "true");
      expect(resume).toHaveAttribute("aria-busy", "true");
      call.resolve();
      await waitFor(() => expect(resume).not.toHaveAttribute("aria-busy"));
    });

    it("disables Cancel Batch while the cancel is in flight, so a double click sends one request", async () => {
      const call = deferred();
      const onCancel = vi.fn(() => call.promise);
      const { user } = renderControls({ onCancel });
      await user.click(screen.getByRole("button", { name: "Cancel" }));
      const dialog = await screen.findByRole("alertdialog");
      const confirm = within(dialog).getByRole("button", { name: "Cancel Batch" });
      await user.dblClick(confirm);
      expect(onCancel).toHaveBeenCalledTimes(1);
      expect(confirm).toBeDisabled();
      expect(confirm).toHaveAttribute("aria-busy", "true");
      expect(within(dialog).getByRole("button", { name: "Keep Running" })).toBeDisabled();
      await user.keyboard("{Escape}");
      expect(screen.getByRole("alertdialog")).toBeInTheDocument();
      call.resolve();
      await waitFor(() => expect(screen.queryByRole("alertdialog")).not.toBeInTheDocument());
    });
  });

  describe("CancelConfirmDialog", () => {
    it("states the impact in numbers", async () => {
      const { user } = renderControls({ pendingItems: 12, inFlightItems: 2, completedItems: 6 });
      await user.click(screen.getByRole("button", { name: "Cancel" }));
      const dialog = await screen.findByRole("alertdialog");
      expect(dialog).toHaveTextContent("12 pending items will be dropped, 2 in progress will finish, 6 completed are kept.");
      expect(dialog).toHaveAccessibleDescription(/12 pending items will be dropped/);
    });

    it("uses the singular for one item", async () => {
      const { user } = renderControls({ pendingItems: 1, inFlightItems: 1, completedItems: 1 });
      await user.click(screen.getByRole("button", { name: "Cancel" }));
      expect(await screen.findByRole("alertdialog")).toHaveTextContent(
        "1 pending item will be dropped, 1 in progress will finish, 1 completed is kept.",
      );
    });

    it("keeps the batch running on Escape and on Keep Running", async () => {
      const { user, props } = renderControls();
      await user.click(screen.getByRole("button", { name: "Cancel" }));
      await screen.findByRole("alertdialog");
      await user.keyboard("{Escape}");
      await waitFor(() => expect(screen.queryByRole("alertdialog")).not.toBeInTheDocument());
      expect(screen.getByRole("button", { name: "Cancel" })).toHaveFocus();
      await user.click(screen.getByRole("button", { name: "Cancel" }));
      await user.click(await screen.findByRole("button", { name: "Keep Running" }));
      await waitFor(() => expect(screen.queryByRole("alertdialog")).not.toBeInTheDocument());
      expect(props.onCancel).not.toHaveBeenCalled();
    });

    it("keeps focus through a pause: Tab to Pause, Enter, Tab to Cancel, Enter, focus on Keep Running", async () => {
      function Harness() {
        const [status, setStatus] = useState<BatchStatus>("running");
        return (
          <BatchControls
            status={status}
            allowedActions={allowedActionsFor(status)}
            pendingItems={10}
            inFlightItems={0}
            completedItems={8}
            failedItems={0}
            onPause={() => Promise.resolve().then(() => setStatus("paused"))}
            onResume={() => Promise.resolve().then(() => setStatus("running"))}
            onCancel={() => Promise.resolve().then(() => setStatus("cancelled"))}
            onRetryFailed={() => Promise.resolve().then(() => setStatus("running"))}
          />
        );
      }
      const user = userEvent.setup();
      render(<Harness />);
      await user.tab();
      expect(screen.getByRole("button", { name: "Pause" })).toHaveFocus();
      await user.keyboard("{Enter}");
      const resume = await screen.findByRole("button", { name: "Resume" });
      expect(resume).toHaveFocus();
      await user.tab();
      expect(screen.getByRole("button", { name: "Cancel" })).toHaveFocus();
      await user.keyboard("{Enter}");
      expect(await screen.findByRole("button", { name: "Keep Running" })).toHaveFocus();
    });

    it("works from the keyboard alone: Tab to Cancel, Enter, focus starts on Keep Running", async () => {
      const { user } = renderControls();
      await user.tab();
      expect(screen.getByRole("button", { name: "Pause" })).toHaveFocus();
      await user.tab();
      expect(screen.getByRole("button", { name: "Cancel" })).toHaveFocus();
      await user.keyboard("{Enter}");
      expect(await screen.findByRole("button", { name: "Keep Running" })).toHaveFocus();
    });

    it("closes when another tab already finished the batch, and says why next to the controls", async () => {
      const onCancel = vi.fn(() =>
        Promise.reject(
          new ApiRequestError({
            status: 409,
            code: "INVALID_TRANSITION",
            message: "Cannot cancel a completed batch",
            details: { currentStatus: "completed", allowedActions: [] },
          }),
        ),
      );
      const { user, rerender, props } = renderControls({ onCancel });
      await user.click(screen.getByRole("button", { name: "Cancel" }));
      await user.click(within(await screen.findByRole("alertdialog")).getByRole("button", { name: "Cancel Batch" }));
      // The page refreshes the batch after a 409; here it turns out completed.
      rerender(<BatchControls {...props} status="completed" allowedActions={[]} inFlightItems={0} />);
      await waitFor(() => expect(screen.queryByRole("alertdialog")).not.toBeInTheDocument());
      expect(screen.getByRole("alert")).toHaveTextContent(/Could not cancel: the batch is already completed/);
      expect(screen.getByRole("status")).toHaveTextContent("Batch completed");
    });

    it("stays open and says why when the cancel fails", async () => {
      const onCancel = vi.fn(() => Promise.reject(new ApiNetworkError("http://127.0.0.1:3001/api/v1/x", new TypeError("fetch failed"))));
      const { user } = renderControls({ onCancel });
      await user.click(screen.getByRole("button", { name: "Cancel" }));
      const dialog = await screen.findByRole("alertdialog");
      await user.click(within(dialog).getByRole("button", { name: "Cancel Batch" }));
      expect(await within(dialog).findByRole("alert")).toHaveTextContent(/Could not reach the server to cancel the batch/);
      expect(within(dialog).getByRole("button", { name: "Cancel Batch" })).toBeEnabled();
    });
  });

  describe("draining and errors", () => {
    it.each([
      ["paused", "Pausing… 2 items finishing"],
      ["cancelled", "Cancelling… 2 items finishing"],
    ] as const)("says what a %s batch with items in flight is doing", (status: BatchStatus, text) => {
      renderControls({ status, inFlightItems: 2 });
      expect(screen.getByRole("status")).toHaveTextContent(text);
    });

    it("announces status changes in a polite live region", () => {
      const { rerender, props } = renderControls({ status: "running" });
      const region = screen.getByRole("status");
      expect(region).toHaveAttribute("aria-live", "polite");
      expect(region).toHaveTextContent("Batch running");
      rerender(<BatchControls {...props} status="paused" allowedActions={["resume", "cancel"]} inFlightItems={0} />);
      expect(screen.getByRole("status")).toHaveTextContent("Batch paused");
    });

    it("explains a 409 from another tab and keeps the buttons usable after a network failure", async () => {
      const onPause = vi
        .fn<() => Promise<unknown>>()
        .mockRejectedValueOnce(
          new ApiRequestError({
            status: 409,
            code: "INVALID_TRANSITION",
            message: "Cannot pause a paused batch",
            details: { currentStatus: "paused", allowedActions: ["resume", "cancel"] },
          }),
        )
        .mockRejectedValueOnce(new ApiNetworkError("http://127.0.0.1:3001/api/v1/x", new TypeError("fetch failed")));
      const { user } = renderControls({ onPause });
      await user.click(screen.getByRole("button", { name: "Pause" }));
      expect(await screen.findByRole("alert")).toHaveTextContent(
        /Could not pause: the batch is already paused, changed in another tab/,
      );
      await user.click(screen.getByRole("button", { name: "Pause" }));
      expect(await screen.findByRole("alert")).toHaveTextContent(/Could not reach the server to pause the batch/);
      expect(screen.getByRole("button", { name: "Pause" })).toBeEnabled();
    });
  });

  describe("Retry failed items (issue 13)", () => {
    const retryButton = () => screen.queryByRole("button", { name: /^Retry \d+ failed$/ });

    it.each(["completed_with_errors", "failed"] as const)("offers 'Retry N failed' for a %s batch, next to the greyed-out story controls", (status) => {
      renderControls({ status, inFlightItems: 0, failedItems: 3 });
      const retry = screen.getByRole("button", { name: "Retry 3 failed" });
      expect(retry).toBeEnabled();
      expect(retry.querySelector("svg")).toHaveAttribute("aria-hidden", "true");
      for (const button of within(controls()).getAllByRole("button")) expect(button).toBeDisabled();
    });

    it("shows no retry button where the batch does not allow it, whatever a stale view says", () => {
      for (const status of ["running", "paused", "completed", "cancelled"] as const) {
        const { unmount } = renderControls({ status, inFlightItems: 0, failedItems: 2 });
        expect(retryButton()).not.toBeInTheDocument();
        unmount();
      }
      // The view still lists retry_failed, the status says it runs again: not offered.
      const { unmount } = renderControls({ status: "running", allowedActions: ["pause", "cancel", "retry_failed"], failedItems: 2 });
      expect(retryButton()).not.toBeInTheDocument();
      unmount();
      // The view does not list it: not offered either.
      renderControls({ status: "completed_with_errors", allowedActions: [], inFlightItems: 0, failedItems: 2 });
      expect(retryButton()).not.toBeInTheDocument();
    });

    it("shows a spinner while the call runs, says so in the live region, and sends one request for a double click", async () => {
      const call = deferred();
      const onRetryFailed = vi.fn(() => call.promise);
      const { user } = renderControls({ status: "completed_with_errors", inFlightItems: 0, failedItems: 3, onRetryFailed });
      const retry = screen.getByRole("button", { name: "Retry 3 failed" });
      await user.dblClick(retry);
      expect(onRetryFailed).toHaveBeenCalledTimes(1);
      expect(retry).toHaveAttribute("aria-busy", "true");
      expect(retry).toHaveAttribute("aria-disabled", "true");
      expect(retry.querySelector('[data-slot="spinner"]')).not.toBeNull();
      expect(screen.getByRole("status")).toHaveTextContent("Sending 3 failed items back to the queue…");
      call.resolve();
      await waitFor(() => expect(retry).not.toHaveAttribute("aria-busy"));
    });

    it("announces the retry once the batch runs again, then the batch's own states, and keeps focus in the controls", async () => {
      function Harness() {
        const [status, setStatus] = useState<BatchStatus>("completed_with_errors");
        return (
          <>
            <BatchControls
              status={status}
              allowedActions={allowedActionsFor(status)}
              pendingItems={status === "running" ? 1 : 0}
              inFlightItems={0}
              completedItems={19}
              failedItems={status === "running" ? 0 : 1}
              onPause={() => Promise.resolve().then(() => setStatus("paused"))}
              onResume={() => Promise.resolve()}
              onCancel={() => Promise.resolve()}
              // Like useLiveBatch: the answer's newStatus is applied before the call resolves.
              onRetryFailed={() => Promise.resolve().then(() => setStatus("running"))}
            />
            <button type="button" onClick={() => setStatus("completed")}>
              finish
            </button>
          </>
        );
      }
      const user = userEvent.setup();
      render(<Harness />);
      await user.click(screen.getByRole("button", { name: "Retry 1 failed" }));
      const region = screen.getByRole("status");
      await waitFor(() => expect(region).toHaveTextContent("Retrying 1 failed item: the batch is running again."));
      expect(region).toHaveAttribute("aria-live", "polite");
      expect(retryButton()).not.toBeInTheDocument();
      await waitFor(() => expect(screen.getByRole("button", { name: "Pause" })).toHaveFocus());
      await user.click(screen.getByRole("button", { name: "finish" }));
      expect(screen.getByRole("status")).toHaveTextContent("Batch completed");
    });

    it("says in words why a retry failed and keeps the button usable", async () => {
      const onRetryFailed = vi
        .fn<() => Promise<unknown>>()
        .mockRejectedValueOnce(new ApiNetworkError("http://127.0.0.1:3001/api/v1/x", new TypeError("fetch failed")))
        .mockRejectedValueOnce(
          new ApiRequestError({
            status: 409,
            code: "INVALID_TRANSITION",
            message: "Cannot retry_failed a running batch",
            details: { currentStatus: "running", allowedActions: ["pause", "cancel"] },
          }),
        );
      const { user } = renderControls({ status: "completed_with_errors", inFlightItems: 0, failedItems: 2, onRetryFailed });
      await user.click(screen.getByRole("button", { name: "Retry 2 failed" }));
      expect(await screen.findByRole("alert")).toHaveTextContent(
        "Could not reach the server to retry the failed items of the batch. Check your connection and try again.",
      );
      const retry = screen.getByRole("button", { name: "Retry 2 failed" });
      expect(retry).toBeEnabled();
      expect(retry).not.toHaveAttribute("aria-disabled");
      await user.click(retry);
      expect(await screen.findByRole("alert")).toHaveTextContent(/^Could not retry the failed items: the batch is already running, changed in another tab/);
    });
  });
});
