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

/** Restarts the e2e stack's API with these env values on top of its first env; `{}` restores that (see scripts/e2e.ts). */
export async function setApiEnv(env: Record<string, string>): Promise<void> {
  const control = process.env.E2E_CONTROL_URL;
  if (!control) throw new Error("E2E_CONTROL_URL is not set: run the browser tests with `pnpm test:e2e`");
  const response = await fetch(`${control}/api-env`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ env }) });
  expect(response.status, await response.text()).toBe(204);
}

export interface ApiQuestionItem {
  position: number;
  status: string;
  error: string | null;
  result: { stem: string; options: { label: string; text: string }[]; answer: string; explanation: string } | null;
}

/** Every item of a batch, by position, straight from the API. */
export async function readItemsViaApi(token: string, id: string): Promise<ApiQuestionItem[]> {
  const items: ApiQuestionItem[] = [];
  let cursor: string | null = null;
  do {
    const query: string = cursor ? `&cursor=${encodeURIComponent(cursor)}` : "";
    const { status, data } = await api<{ items: ApiQuestionItem[]; nextCursor: string | null }>(token, "GET", `/generation/batch/${id}/items?limit=200${query}`);
    expect(status).toBe(200);
    items.push(...data.items);
    cursor = data.nextCursor;
  } while (cursor !== null);
  return items;
}

/**
 * A small RFC 4180 reader written for the test, independent of the server's csv-stringify: quoted
 * fields with doubled quotes, commas and line breaks inside, CRLF between records.
 */
export function parseCsv(text: string): string[][] {
  const records: string[][] = [];
  let record: string[] = [];
  let field = "";
  let quoted = false;
  for (let index = 0; index < text.length; index += 1) {
    const char = text[index]!;
    if (quoted) {
      if (char === '"' && text[index + 1] === '"') {
        field += '"';
        index += 1;
      } else if (char === '"') {
        quoted = false;
      } else {
        field += char;
      }
    } else if (char === '"') {
      quoted = true;
    } else if (char === ",") {
      record.push(field);
      field = "";
    } else if (char === "\r" && text[index + 1] === "\n") {
      record.push(field);
      records.push(record);
      record = [];
      field = "";
      index += 1;
    } else {
      field += char;
    }
  }
  if (field !== "" || record.length > 0) {
    record.push(field);
    records.push(record);
  }
  return records;
}
