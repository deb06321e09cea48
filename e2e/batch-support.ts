/// <reference lib="dom" />
import { expect, type Page } from "@playwright/test";
import { apiUrl } from "./support.ts";

export interface BatchSnapshot {
  id: string;
  status: string;
  totalItems: number;
  completedItems: number;
  failedItems: number;
  cancelledItems: number;
  inFlightItems: number;
  pendingItems: number;
}

async function api<T>(token: string, method: string, path: string, body?: unknown): Promise<{ status: number; data: T }> {
  const response = await fetch(`${apiUrl()}/api/v1${path}`, {
    method,
    headers: { Authorization: `Bearer ${token}`, "content-type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const payload = (await response.json()) as { data: T };
  return { status: response.status, data: payload.data };
}

/** Creates a batch straight through the API (for journeys that start on an existing batch). */
export async function createBatchViaApi(
  token: string,
  config: { topic: string; count: number; concurrency?: number; questionType?: string; difficulty?: string },
): Promise<BatchSnapshot> {
  const { status, data } = await api<BatchSnapshot>(token, "POST", "/generation/batch", {
    questionType: "single_best_answer",
    difficulty: "medium",
    ...config,
  });
  expect(status).toBe(201);
  return data;
}

export async function readBatchViaApi(token: string, id: string): Promise<BatchSnapshot> {
  const { status, data } = await api<BatchSnapshot>(token, "GET", `/generation/batch/${id}`);
  expect(status).toBe(200);
  return data;
}

export async function waitForBatchViaApi(
  token: string,
  id: string,
  done: (batch: BatchSnapshot) => boolean,
  timeoutMs = 60_000,
): Promise<BatchSnapshot> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const batch = await readBatchViaApi(token, id);
    if (done(batch)) return batch;
    if (Date.now() > deadline) throw new Error(`batch ${id} did not get there in ${timeoutMs} ms: ${JSON.stringify(batch)}`);
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

/** Completed + failed items as the page shows them (the progress bar's aria-valuenow). */
export async function processedOnPage(page: Page): Promise<number> {
  const value = await page.getByRole("progressbar", { name: "Batch progress" }).getAttribute("aria-valuenow");
  return Number(value);
}

/** Records every text the status badge shows from now on, so a short-lived "Pausing…" is not missed. */
export async function recordBadgeTexts(page: Page): Promise<() => Promise<string[]>> {
  await page.evaluate(() => {
    const badge = document.querySelector('[data-testid="batch-status"]');
    const seen: string[] = [badge?.textContent ?? ""];
    (window as unknown as { __badgeTexts: string[] }).__badgeTexts = seen;
    const observer = new MutationObserver(() => {
      const text = document.querySelector('[data-testid="batch-status"]')?.textContent ?? "";
      if (seen[seen.length - 1] !== text) seen.push(text);
    });
    observer.observe(document.body, { subtree: true, childList: true, characterData: true });
  });
  return () => page.evaluate(() => (window as unknown as { __badgeTexts: string[] }).__badgeTexts);
}

/**
 * Records the page's requests to the API (`/api/v1/…`) from the moment `start()` is called. The
 * live stream's request, already open by then, is not among them.
 */
export function recordApiRequests(page: Page): {
  start: () => void;
  requests: () => string[];
  waitForQuiet: (quietMs: number, timeoutMs?: number) => Promise<void>;
} {
  const prefix = `${apiUrl()}/api/v1/`;
  const seen: string[] = [];
  let recording = false;
  let lastRequestAt = Date.now();
  page.on("request", (request) => {
    if (!request.url().startsWith(prefix)) return;
    lastRequestAt = Date.now();
    if (recording) seen.push(`${request.method()} ${new URL(request.url()).pathname}`);
  });
  return {
    start: () => {
      recording = true;
    },
    requests: () => [...seen],
    /** Waits until no API request has started for `quietMs`. */
    waitForQuiet: async (quietMs, timeoutMs = 30_000) => {
      const deadline = Date.now() + timeoutMs;
      while (Date.now() - lastRequestAt < quietMs) {
        if (Date.now() > deadline) throw new Error(`the page kept calling the API for ${timeoutMs} ms: ${seen.join(", ")}`);
        await page.waitForTimeout(100);
      }
    },
  };
}
