/// <reference lib="dom" />
import { readFile } from "node:fs/promises";
import { expect, test, type Page } from "@playwright/test";
import {
  createBatchViaApi,
  parseCsv,
  readItemsViaApi,
  recordBadgeTexts,
  setApiEnv,
  waitForBatchViaApi,
  type ApiQuestionItem,
  type BatchSnapshot,
} from "./batch-support.ts";
import { accessToken, apiUrl, DEMO, expectAccessible, screenshot, signIn } from "./support.ts";

// Issue 13 in the browser: a batch that ends with failed items, "Retry N failed", the questions as
// CSV and JSON. These tests restart the API with other simulated-generator settings (slow items,
// permanent failures) through scripts/e2e.ts, and give it back its first settings at the end.

test.afterAll(async () => {
  await setApiEnv({});
});

const finished = (batch: BatchSnapshot) =>
  ["completed", "completed_with_errors", "failed", "cancelled"].includes(batch.status) && batch.inFlightItems === 0;

async function cancelViaApi(token: string, id: string): Promise<void> {
  await fetch(`${apiUrl()}/api/v1/generation/batch/${id}/cancel`, {
    method: "POST",
    headers: { Authorization: `Bearer ${token}`, "content-type": "application/json" },
    body: "{}",
  });
}

/** Picks a format in the Download menu and returns the saved file's name and text. */
async function download(page: Page, item: "CSV (spreadsheet)" | "JSON"): Promise<{ name: string; text: string }> {
  await page.getByRole("button", { name: "Download", exact: true }).click();
  const [file] = await Promise.all([page.waitForEvent("download"), page.getByRole("menuitem", { name: item }).click()]);
  const path = await file.path();
  return { name: file.suggestedFilename(), text: await readFile(path, "utf8") };
}

test("draining: a paused batch whose items are still finishing says 'Pausing… N items finishing', and passes the axe scan", async ({ page }) => {
  // Slow items (20 s each, no spread), so the drain lasts long enough to look at.
  await setApiEnv({ SIMULATED_LATENCY_MS: "20000", SIMULATED_LATENCY_JITTER: "0", SIMULATED_FAILURE_RATE: "0" });
  const token = await accessToken(DEMO.jones);
  const batch = await createBatchViaApi(token, { topic: "Slow items (draining)", count: 6, concurrency: 3 });
  try {
    await signIn(page, DEMO.jones);
    await page.goto(`/generation/batch/${batch.id}`);
    await expect(page.getByTestId("stream-indicator")).toHaveText(/Live/);
    await expect(page.getByTestId("count-in-flight")).toHaveText("3");
    await page.getByRole("button", { name: "Pause" }).click();
    await expect(page.getByTestId("batch-status")).toHaveText("Pausing…");
    const state = page.getByRole("group", { name: "Batch controls" }).getByRole("status");
    await expect(state).toHaveText(/^Pausing… \d items? finishing$/);
    await screenshot(page, "batch-draining");
    await expectAccessible(page, "draining (paused, items finishing)");
    // The scan saw the draining page: it is still draining now.
    expect(await state.textContent()).toMatch(/^Pausing… \d items? finishing$/);
  } finally {
    await cancelViaApi(token, batch.id);
    // Let the slow items finish before the API is restarted again.
    await waitForBatchViaApi(token, batch.id, finished, 60_000);
  }
});

test("a batch with failed items: Retry, watch it complete live, and download its questions as CSV and JSON that match the API's items", async ({ page }) => {
  test.setTimeout(240_000);
  const token = await accessToken(DEMO.jones);

  // 1. The generator fails permanently for about 30% of the items.
  await setApiEnv({ SIMULATED_PERMANENT_FAILURE_RATE: "0.3", SIMULATED_FAILURE_RATE: "0", SIMULATED_LATENCY_MS: "150" });
  let batch: BatchSnapshot | undefined;
  const topic = `Retry journey ${Date.now().toString(36)}`;
  // 12 items at 30% end with some failed and some completed 98.6% of the time; try again otherwise.
  for (let attempt = 0; attempt < 4 && !batch; attempt += 1) {
    const created = await createBatchViaApi(token, { topic, count: 12, concurrency: 4 });
    const done = await waitForBatchViaApi(token, created.id, finished);
    if (done.status === "completed_with_errors") batch = done;
  }
  if (!batch) throw new Error("four batches in a row ended without both completed and failed items");
  const failed = batch.failedItems;

  // 2. The generator is healthy again, and slow enough (2.5 s an item) to watch the retry run.
  await setApiEnv({ SIMULATED_FAILURE_RATE: "0", SIMULATED_LATENCY_MS: "2500", SIMULATED_LATENCY_JITTER: "0" });

  await signIn(page, DEMO.jones);
  await page.goto(`/generation/batch/${batch.id}`);
  await expect(page.getByRole("heading", { level: 1, name: topic })).toBeVisible();
  await expect(page.getByTestId("batch-status")).toHaveText("Completed with errors");
  await expect(page.getByTestId("stream-indicator")).toHaveText(/Finished/);
  const controls = page.getByRole("group", { name: "Batch controls" });
  await expect(controls.getByRole("status")).toHaveText("Batch completed with errors");
  const retry = page.getByRole("button", { name: `Retry ${failed} failed` });
  await expect(retry).toBeEnabled();
  // The failed items say why, in words.
  const failedItems = page.locator('[data-testid="batch-item"][data-status="failed"]');
  await expect(failedItems).toHaveCount(failed);
  for (const item of await failedItems.all()) {
    await expect(item.getByTestId("item-error")).toHaveText(/^Last error: simulated permanent failure/);
  }
  await expectAccessible(page, "completed with errors, with its retry button");
  await screenshot(page, "batch-completed-with-errors-retry");

  // 3. Retry: the batch runs again, the page follows it on a new live stream, and it completes.
  const badgeTexts = await recordBadgeTexts(page);
  await retry.click();
  await expect(page.getByTestId("batch-status")).toHaveText("Running");
  await expect(page.getByTestId("stream-indicator")).toHaveText(/Live/);
  await expect(retry).toHaveCount(0);
  await expect(controls.getByRole("status")).toHaveText(
    `Retrying ${failed} failed ${failed === 1 ? "item" : "items"}: the batch is running again.`,
  );
  await expect(page.getByTestId("batch-history")).toContainText(/Failed items retried by dr\.jones@msm\.edu at \d{2}:\d{2}/);
  await expectAccessible(page, "running again after a retry");
  await screenshot(page, "batch-retry-running");

  await expect(page.getByTestId("batch-status")).toHaveText("Completed", { timeout: 60_000 });
  expect(await badgeTexts()).toEqual(expect.arrayContaining(["Completed with errors", "Running", "Completed"]));
  await expect(page.getByTestId("count-failed")).toHaveText("0");
  await expect(page.getByTestId("count-completed")).toHaveText("12");
  await expect(page.locator('[data-testid="batch-item"][data-status="completed"]')).toHaveCount(12);
  await expect(page.getByTestId("stream-indicator")).toHaveText(/Finished/);
  await expect(controls.getByRole("status")).toHaveText("Batch completed");

  // 4. Download: the menu, then each file against the API's items.
  const items = await readItemsViaApi(token, batch.id);
  expect(items.map((item) => item.status)).toEqual(Array(12).fill("completed"));
  const questions = items.filter((item): item is ApiQuestionItem & { result: NonNullable<ApiQuestionItem["result"]> } => item.result !== null);

  await page.getByRole("button", { name: "Download", exact: true }).click();
  const menu = page.getByRole("menu", { name: "Download" });
  await expect(menu.getByRole("menuitem")).toHaveText(["CSV (spreadsheet)", "JSON"]);
  await expectAccessible(page, "download menu open");
  await screenshot(page, "batch-download-menu");
  await page.keyboard.press("Escape");
  await expect(menu).toBeHidden();

  const csv = await download(page, "CSV (spreadsheet)");
  expect(csv.name).toBe(`batch-${batch.id}-questions.csv`);
  expect(csv.text.endsWith("\r\n")).toBe(true);
  const [header, ...rows] = parseCsv(csv.text);
  expect(header).toEqual(["position", "stem", "option_a", "option_b", "option_c", "option_d", "option_e", "answer", "explanation"]);
  expect(rows).toEqual(
    questions.map((item) => {
      const option = (label: string) => item.result.options.find((each) => each.label === label)?.text ?? "";
      return [String(item.position), item.result.stem, ...["A", "B", "C", "D", "E"].map(option), item.result.answer, item.result.explanation];
    }),
  );
  await expect(page.getByText(`Downloaded batch-${batch.id}-questions.csv`)).toBeAttached();

  const json = await download(page, "JSON");
  expect(json.name).toBe(`batch-${batch.id}-questions.json`);
  expect(JSON.parse(json.text)).toEqual(
    questions.map((item) => ({
      position: item.position,
      stem: item.result.stem,
      options: item.result.options,
      answer: item.result.answer,
      explanation: item.result.explanation,
    })),
  );

  // 5. The list offers the same menu for the finished batch.
  await page.getByRole("link", { name: "All batches" }).click();
  // (An attempt without failures above has the same topic and a menu of its own.)
  const row = page.getByTestId("batch-row").filter({ has: page.getByRole("link", { name: topic, exact: true }) }).first();
  await expect(row.getByRole("button", { name: `Download the questions of ${topic}` })).toBeVisible();
  await expectAccessible(page, "list with a finished batch to download");
});
