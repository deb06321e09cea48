/// <reference lib="dom" />
import { expect, test } from "@playwright/test";
import { processedOnPage, recordBadgeTexts } from "./batch-support.ts";
import { DEMO, expectAccessible, screenshot, signIn } from "./support.ts";

// The simulated generator (median 800 ms per item) one at a time: 30 items take about 25 s of
// running time, long enough to pause, resume and cancel along the way even on a busy machine.
test("dr.jones creates a 30-item batch, watches it rise, pauses, resumes and cancels it, and keeps the completed questions", async ({ page }) => {
  test.setTimeout(180_000);
  await signIn(page, DEMO.jones);
  await expect(page.getByRole("heading", { level: 1, name: "Batches" })).toBeVisible();
  await expectAccessible(page, "list and new-batch form");

  // Inline validation from the shared schema, before anything is sent.
  const form = page.getByRole("form", { name: "New batch" });
  await form.getByRole("button", { name: "Create batch" }).click();
  await expect(form.getByText("Topic must not be empty")).toBeVisible();
  await expect(form.getByLabel("Topic")).toBeFocused();
  await form.getByLabel("Number of questions").fill("20000");
  await form.getByLabel("Number of questions").blur();
  await expect(form.getByText("Number of questions must be at most 10000")).toBeVisible();
  await expectAccessible(page, "new-batch form with errors");
  await screenshot(page, "batch-new-form-errors");

  await form.getByLabel("Topic").fill("Cardiac physiology");
  await form.getByLabel("Question type").selectOption({ label: "Clinical vignette" });
  await form.getByLabel("Difficulty").selectOption({ label: "Hard" });
  await form.getByLabel("Number of questions").fill("30");
  await form.getByLabel("Concurrency").fill("1");
  await form.getByRole("button", { name: "Create batch" }).click();

  await expect(page).toHaveURL(/\/generation\/batch\/[0-9a-f-]{36}$/);
  await expect(page.getByRole("heading", { level: 1, name: "Cardiac physiology" })).toBeVisible();
  await expect(page.getByTestId("stream-indicator")).toHaveText(/Live/);
  // Marks this document: if anything reloaded the page, the mark would be gone.
  await page.evaluate(() => ((window as unknown as { __sameDocument: boolean }).__sameDocument = true));

  // Progress rises by itself.
  const bar = page.getByRole("progressbar", { name: "Batch progress" });
  await expect(bar).toHaveAttribute("aria-valuetext", /^\d+ of 30 items$/);
  await expect.poll(() => processedOnPage(page)).toBeGreaterThanOrEqual(2);
  const early = await processedOnPage(page);
  await expect.poll(() => processedOnPage(page)).toBeGreaterThan(early);
  await expect(page.getByTestId("batch-eta")).toHaveText(/about \d+(–\d+)? (s|min) left|Estimating/);
  await expect(page.getByTestId("batch-status")).toHaveText("Running");
  await expectAccessible(page, "running");
  await screenshot(page, "batch-running");

  // Pause: "Pausing…" while the items in flight finish, then "Paused"; then nothing moves.
  const badgeTexts = await recordBadgeTexts(page);
  await page.getByRole("button", { name: "Pause" }).click();
  await expect(page.getByTestId("batch-status")).toHaveText("Paused", { timeout: 20_000 });
  expect(await badgeTexts()).toContain("Pausing…");
  await expect(page.getByTestId("count-in-flight")).toHaveText("0");
  await expect(page.getByTestId("batch-eta")).toContainText("Paused");
  await expect(page.getByTestId("batch-history")).toContainText(/Paused by dr\.jones@msm\.edu at \d{2}:\d{2}/);
  const paused = await processedOnPage(page);
  await expectAccessible(page, "paused");
  await screenshot(page, "batch-paused");
  await page.waitForTimeout(5_000);
  expect(await processedOnPage(page)).toBe(paused);
  await expect(page.getByTestId("batch-status")).toHaveText("Paused");

  // Resume: it rises again.
  await page.getByRole("button", { name: "Resume" }).click();
  await expect(page.getByTestId("batch-status")).toHaveText("Running");
  await expect.poll(() => processedOnPage(page)).toBeGreaterThan(paused);
  await expect(page.getByTestId("batch-history")).toContainText(/Resumed by dr\.jones@msm\.edu at \d{2}:\d{2}/);

  // Cancel: Escape first keeps it running; then confirm.
  await page.getByRole("button", { name: "Cancel", exact: true }).click();
  const dialog = page.getByRole("alertdialog", { name: "Cancel Batch Generation?" });
  await expect(dialog).toBeVisible();
  await expect(dialog).toContainText(/\d+ pending items? will be dropped, \d+ in progress will finish, \d+ completed (is|are) kept\./);
  await expect(dialog.getByRole("button", { name: "Keep Running" })).toBeFocused();
  await expectAccessible(page, "cancel dialog open");
  await screenshot(page, "batch-cancel-dialog");
  await page.keyboard.press("Escape");
  await expect(dialog).toBeHidden();
  await expect(page.getByTestId("batch-status")).toHaveText("Running");

  await page.getByRole("button", { name: "Cancel", exact: true }).click();
  await dialog.getByRole("button", { name: "Cancel Batch" }).click();
  await expect(dialog).toBeHidden();
  await expect(page.getByTestId("batch-status")).toHaveText("Cancelled", { timeout: 20_000 });
  await expect(page.getByRole("group", { name: "Batch controls" }).getByRole("status")).toHaveText("Batch cancelled");
  for (const name of ["Pause", "Cancel"]) {
    await expect(page.getByRole("group", { name: "Batch controls" }).getByRole("button", { name, exact: true })).toBeDisabled();
  }
  await expect(page.getByTestId("stream-indicator")).toHaveText(/Finished/);

  // Final counts add up; the completed questions are still there and readable.
  const count = async (id: string) => Number(await page.getByTestId(id).textContent());
  const completed = await count("count-completed");
  const failed = await count("count-failed");
  const cancelled = await count("count-cancelled");
  expect(completed).toBeGreaterThan(0);
  expect(cancelled).toBeGreaterThan(0);
  expect(completed + failed + cancelled).toBe(30);
  expect(await count("count-in-flight")).toBe(0);
  expect(await count("count-pending")).toBe(0);
  await expect(page.getByTestId("batch-history")).toContainText(/Cancelled by dr\.jones@msm\.edu at \d{2}:\d{2}/);

  const completedItems = page.locator('[data-testid="batch-item"][data-status="completed"]');
  await expect(completedItems).toHaveCount(completed);
  await expect(page.locator('[data-testid="batch-item"][data-status="cancelled"]')).toHaveCount(cancelled);
  const first = completedItems.first();
  await first.locator("summary").click();
  await expect(first.getByText("Answer:")).toBeVisible();
  await expect(first.getByText("Explanation:")).toBeVisible();
  await expect(first.getByRole("list", { name: /Options for question/ }).getByRole("listitem")).toHaveCount(5);
  await expect(first.getByText("Correct answer")).toBeVisible();

  expect(await page.evaluate(() => (window as unknown as { __sameDocument?: boolean }).__sameDocument)).toBe(true);
  await expectAccessible(page, "cancelled");
  await screenshot(page, "batch-cancelled-final");

  // The list shows it too.
  await page.getByRole("link", { name: "All batches" }).click();
  const row = page.getByTestId("batch-row").filter({ hasText: "Cardiac physiology" });
  await expect(row).toContainText("Cancelled");
  await expect(row.getByRole("progressbar", { name: "Progress of Cardiac physiology" })).toHaveAttribute(
    "aria-valuetext",
    `${completed + failed} of 30 items`,
  );
  await expectAccessible(page, "list with a cancelled batch");
  await screenshot(page, "batch-list");
});
