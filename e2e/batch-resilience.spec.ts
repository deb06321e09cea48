import { expect, test } from "@playwright/test";
import { createBatchViaApi, processedOnPage } from "./batch-support.ts";
import { accessToken, apiUrl, DEMO, screenshot, signIn } from "./support.ts";

async function cancelViaApi(token: string, id: string): Promise<void> {
  await fetch(`${apiUrl()}/api/v1/generation/batch/${id}/cancel`, {
    method: "POST",
    headers: { Authorization: `Bearer ${token}`, "content-type": "application/json" },
    body: "{}",
  });
}

test("with the live stream unreachable the page says Reconnecting, keeps updating by polling, and goes Live again", async ({ page }) => {
  test.setTimeout(120_000);
  const token = await accessToken(DEMO.jones);
  const batch = await createBatchViaApi(token, { topic: "Stream outage", count: 200, concurrency: 1 });
  try {
    await page.route("**/stream", (route) => route.abort("connectionrefused"));
    await signIn(page, DEMO.jones);
    await page.goto(`/generation/batch/${batch.id}`);
    await expect(page.getByRole("heading", { level: 1, name: "Stream outage" })).toBeVisible();
    const indicator = page.getByTestId("stream-indicator");
    await expect(indicator).toHaveText(/Reconnecting…/);
    await expect(indicator).toHaveAttribute("data-connection", "polling", { timeout: 20_000 });
    const before = await processedOnPage(page);
    await expect.poll(() => processedOnPage(page), { timeout: 20_000 }).toBeGreaterThan(before);
    await screenshot(page, "batch-polling-fallback");

    await page.unroute("**/stream");
    await expect(indicator).toHaveText(/Live/, { timeout: 30_000 });
  } finally {
    await cancelViaApi(token, batch.id);
  }
});

test("a pause that cannot reach the server says so, keeps the buttons usable, and the retry reuses its Idempotency-Key", async ({ page }) => {
  const token = await accessToken(DEMO.jones);
  const batch = await createBatchViaApi(token, { topic: "Flaky network", count: 200, concurrency: 1 });
  try {
    await signIn(page, DEMO.jones);
    await page.goto(`/generation/batch/${batch.id}`);
    await expect(page.getByTestId("stream-indicator")).toHaveText(/Live/);

    const keys: string[] = [];
    page.on("request", (request) => {
      if (request.method() === "POST" && request.url().endsWith("/pause")) keys.push(request.headers()["idempotency-key"] ?? "");
    });
    await page.route("**/pause", (route) => route.abort("internetdisconnected"));
    await page.getByRole("button", { name: "Pause" }).click();
    // (Next's route announcer is also role=alert, so find the message by its words.)
    const error = page.getByRole("alert").filter({ hasText: "Could not reach the server to pause the batch" });
    await expect(error).toBeVisible();
    const pause = page.getByRole("button", { name: "Pause" });
    await expect(pause).toBeEnabled();
    await expect(pause).not.toHaveAttribute("aria-disabled", "true");
    await expect(page.getByTestId("batch-status")).toHaveText("Running");
    await screenshot(page, "batch-pause-network-error");

    await page.unroute("**/pause");
    await pause.click();
    await expect(page.getByTestId("batch-status")).toHaveText(/Pausing…|Paused/);
    await expect(error).toHaveCount(0);
    expect(keys).toHaveLength(2);
    expect(keys[0]).toMatch(/^[0-9a-f-]{32,36}$/);
    expect(keys[1]).toBe(keys[0]);
  } finally {
    await cancelViaApi(token, batch.id);
  }
});
