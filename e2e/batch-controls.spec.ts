/// <reference lib="dom" />
import { expect, test } from "@playwright/test";
import { createBatchViaApi, recordApiRequests, waitForBatchViaApi } from "./batch-support.ts";
import { accessToken, DEMO, expectAccessible, screenshot, signIn } from "./support.ts";

test("a completed batch shows every control disabled with 'Batch completed'", async ({ page }) => {
  const token = await accessToken(DEMO.jones);
  const batch = await createBatchViaApi(token, { topic: "Renal acid-base (completed)", count: 4, concurrency: 4 });
  await waitForBatchViaApi(token, batch.id, (b) => b.status.startsWith("completed") && b.inFlightItems === 0);

  await signIn(page, DEMO.jones);
  await page.goto(`/generation/batch/${batch.id}`);
  await expect(page.getByRole("heading", { level: 1, name: "Renal acid-base (completed)" })).toBeVisible();
  const controls = page.getByRole("group", { name: "Batch controls" });
  await expect(controls.getByRole("status")).toHaveText("Batch completed");
  await expect(controls.getByRole("button")).toHaveCount(2);
  for (const button of await controls.getByRole("button").all()) await expect(button).toBeDisabled();
  await expect(page.getByTestId("batch-status")).toHaveText("Completed");
  await expect(page.getByRole("progressbar", { name: "Batch progress" })).toHaveAttribute("aria-valuetext", "4 of 4 items");
  await expect(page.getByTestId("count-completed")).toHaveText("4");
  await expect(page.locator('[data-testid="batch-item"][data-status="completed"]')).toHaveCount(4);
  await expect(page.getByTestId("batch-eta")).toContainText("Finished at");
  await expectAccessible(page, "completed");
  await screenshot(page, "batch-completed");
});

test("dr.smith opening dr.jones's batch sees a clear 'not yours' page, and a made-up id says 'not found'", async ({ page }) => {
  const token = await accessToken(DEMO.jones);
  const batch = await createBatchViaApi(token, { topic: "Jones's private batch", count: 2, concurrency: 2 });

  await signIn(page, DEMO.smith);
  await page.goto(`/generation/batch/${batch.id}`);
  await expect(page.getByRole("heading", { level: 1, name: "This batch is not yours" })).toBeVisible();
  await expect(page.getByText("It belongs to another faculty member.")).toBeVisible();
  await expect(page.getByText("Jones's private batch")).toHaveCount(0);
  await expect(page.getByRole("button", { name: "Pause" })).toHaveCount(0);
  await expect(page.getByRole("link", { name: "Go to your batches" })).toBeVisible();
  await expectAccessible(page, "not yours");
  await screenshot(page, "batch-not-yours");

  await page.goto("/generation/batch/00000000-0000-4000-8000-000000000000");
  await expect(page.getByRole("heading", { level: 1, name: "Batch not found" })).toBeVisible();
  await page.getByRole("link", { name: "Go to your batches" }).click();
  await expect(page.getByRole("heading", { level: 1, name: "Batches" })).toBeVisible();
  await expect(page.getByText("Jones's private batch")).toHaveCount(0);
});

test("keyboard only: Tab to Pause, Enter, Tab to Cancel, Enter, the dialog starts on Keep Running", async ({ page }) => {
  const token = await accessToken(DEMO.jones);
  // One at a time and many items: it is still running whatever the keyboard takes.
  const batch = await createBatchViaApi(token, { topic: "Keyboard journey", count: 200, concurrency: 1 });

  await signIn(page, DEMO.jones);
  await page.goto(`/generation/batch/${batch.id}`);
  await expect(page.getByTestId("batch-status")).toHaveText("Running");
  await expect(page.getByTestId("stream-indicator")).toHaveText(/Live/);

  const pause = page.getByRole("button", { name: "Pause" });
  await page.locator("body").focus();
  for (let presses = 0; presses < 20; presses += 1) {
    if (await pause.evaluate((element) => element === document.activeElement)) break;
    await page.keyboard.press("Tab");
  }
  await expect(pause).toBeFocused();
  await page.keyboard.press("Enter");
  const resume = page.getByRole("button", { name: "Resume" });
  await expect(resume).toBeFocused();
  await expect(page.getByTestId("batch-status")).toHaveText(/Pausing…|Paused/);

  await page.keyboard.press("Tab");
  const cancel = page.getByRole("button", { name: "Cancel", exact: true });
  await expect(cancel).toBeFocused();
  await page.keyboard.press("Enter");
  const dialog = page.getByRole("alertdialog", { name: "Cancel Batch Generation?" });
  await expect(dialog.getByRole("button", { name: "Keep Running" })).toBeFocused();
  await expectAccessible(page, "cancel dialog open from the keyboard (paused)");
  await screenshot(page, "batch-keyboard-cancel-dialog");

  // Escape keeps it (paused, not cancelled) and gives focus back to Cancel.
  await page.keyboard.press("Escape");
  await expect(dialog).toBeHidden();
  await expect(cancel).toBeFocused();
  await expect(page.getByTestId("batch-status")).toHaveText("Paused");

  // Confirm from the keyboard too: focus is trapped in the dialog, Tab reaches "Cancel Batch".
  await page.keyboard.press("Enter");
  await expect(dialog.getByRole("button", { name: "Keep Running" })).toBeFocused();
  await page.keyboard.press("Tab");
  await expect(dialog.getByRole("button", { name: "Cancel Batch" })).toBeFocused();
  await page.keyboard.press("Enter");
  await expect(page.getByTestId("batch-status")).toHaveText("Cancelled", { timeout: 20_000 });
  await expect(page.getByRole("group", { name: "Batch controls" }).getByRole("status")).toHaveText("Batch cancelled");
  await screenshot(page, "batch-keyboard-cancelled");
});

test("a click on Pause costs the page at most three API requests: the POST and two GETs", async ({ page }) => {
  const token = await accessToken(DEMO.jones);
  // Items finish all the time while a batch runs, and a finished item the page shows makes it
  // reload its list; those reloads are caused by the items, not by the click. So the batch is
  // already past the first 50 items (the part of the list the page shows) when the page opens:
  // what remains is what the click costs.
  const batch = await createBatchViaApi(token, { topic: "Request budget", count: 1_000, concurrency: 10 });
  await waitForBatchViaApi(token, batch.id, (b) => b.completedItems + b.failedItems + b.inFlightItems >= 70);

  await signIn(page, DEMO.jones);
  const recorder = recordApiRequests(page);
  await page.goto(`/generation/batch/${batch.id}`);
  await expect(page.getByTestId("batch-status")).toHaveText("Running");
  await expect(page.getByTestId("stream-indicator")).toHaveText(/Live/);
  await expect(page.locator('[data-testid="batch-item"]')).toHaveCount(50);
  await recorder.waitForQuiet(1_000);

  recorder.start();
  await page.getByRole("button", { name: "Pause" }).click();
  await expect(page.getByTestId("batch-status")).toHaveText("Paused", { timeout: 20_000 });
  await expect(page.getByRole("group", { name: "Batch controls" }).getByRole("button", { name: "Resume" })).toBeEnabled();
  await expect(page.getByTestId("batch-history")).toContainText(/Paused by dr\.jones@msm\.edu at/);
  await recorder.waitForQuiet(1_000);

  // What the page asked for before the POST went out was not caused by the click (an item that
  // finished late, e.g. after a transient failure, reloads the list on its own).
  const recorded = recorder.requests();
  const requests = recorded.slice(Math.max(0, recorded.findIndex((request) => request.startsWith("POST "))));
  test.info().annotations.push({ type: "requests after the click", description: recorded.join(", ") });
  expect(requests.filter((request) => request.startsWith("POST "))).toEqual([`POST /api/v1/generation/batch/${batch.id}/pause`]);
  expect(requests.length, `requests after the click:\n${requests.join("\n")}`).toBeLessThanOrEqual(3);
});
