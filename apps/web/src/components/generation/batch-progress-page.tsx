"use client";

import { isTerminalStatus, QUESTION_TYPE_LABELS, type BatchDetail, type BatchItem, type Difficulty } from "@batchgen/types";
import { ArrowLeft } from "lucide-react";
import Link from "next/link";
import { useCallback, useEffect, useRef, useState } from "react";
import { BatchControls } from "@/components/generation/BatchControls";
import { BatchHistory } from "@/components/generation/batch-history";
import { BatchItemList } from "@/components/generation/batch-item-list";
import { BatchLoadError } from "@/components/generation/batch-load-error";
import { formatClock, formatEta, plural, progressText } from "@/components/generation/batch-format";
import { BatchStatusBadge } from "@/components/generation/batch-status-badge";
import { DownloadQuestionsMenu } from "@/components/generation/download-questions-menu";
import { StreamIndicator } from "@/components/generation/stream-indicator";
import { Button } from "@/components/ui/button";
import { Progress } from "@/components/ui/progress";
import { Spinner } from "@/components/ui/spinner";
import type { ApiClient } from "@/lib/api";
import { fetchBatchHistory, fetchFirstBatchItems, type BatchStatusTransition } from "@/lib/batch-api";
import { applyItemEvent, processedCount } from "@/lib/batch-progress-state";
import { useLiveBatch, type LiveBatchStreamOptions } from "@/lib/use-live-batch";

const ITEMS_PAGE = 50;
/** At most one refetch of the visible items per this many ms while items keep finishing. */
const ITEMS_REFRESH_GAP_MS = 1_000;

const DIFFICULTY_LABELS: Record<Difficulty, string> = { easy: "Easy", medium: "Medium", hard: "Hard" };

export interface BatchProgressPageProps {
  readonly batchId: string;
  readonly api: ApiClient;
  readonly getAccessToken: () => Promise<string | null>;
  /** Test seams for the live stream (fake fetch, short timings). */
  readonly streamOptions?: LiveBatchStreamOptions;
}

function Count({ label, value, testId }: { readonly label: string; readonly value: number; readonly testId: string }) {
  return (
    <div className="rounded-lg border border-border bg-background px-3 py-2">
      <dt className="text-xs font-medium uppercase tracking-wide text-muted-foreground">{label}</dt>
      <dd className="text-2xl font-semibold tabular-nums" data-testid={testId}>
        {value}
      </dd>
    </div>
  );
}

function timeLeftText(batch: BatchDetail): string {
  if (batch.status === "running") return batch.eta ? formatEta(batch.eta) : "Estimating time left…";
  if (batch.status === "paused") {
    return batch.inFlightItems > 0
      ? `Paused: ${plural(batch.inFlightItems, "item is", "items are")} finishing, no new items start until you resume.`
      : "Paused: no new items start until you resume.";
  }
  if (batch.status === "cancelled" && batch.inFlightItems > 0) {
    return `Cancelled: ${plural(batch.inFlightItems, "item is", "items are")} finishing; nothing else will start.`;
  }
  return batch.finishedAt ? `Finished at ${formatClock(batch.finishedAt)}` : "";
}

/**
 * The batch progress page (F-46 + F-47): status, live progress, counts, ETA, the generated questions,
 * who paused/resumed/cancelled it, and the controls. `useLiveBatch` is the only writer of the batch;
 * the page keeps the item list and the history, which it reads again when the stream says so.
 */
export function BatchProgressPage({ batchId, api, getAccessToken, streamOptions }: BatchProgressPageProps) {
  const [items, setItems] = useState<BatchItem[]>([]);
  const [itemsLoaded, setItemsLoaded] = useState(false);
  const [hasMoreItems, setHasMoreItems] = useState(false);
  const [itemLimit, setItemLimit] = useState(ITEMS_PAGE);
  const [loadingMore, setLoadingMore] = useState(false);
  const [history, setHistory] = useState<BatchStatusTransition[]>([]);

  const itemLimitRef = useRef(itemLimit);
  const itemsRefresh = useRef({ running: false, again: false });
  // A status change the item list has not been read for yet (see onStatusChange).
  const itemsOwed = useRef(false);
  const mounted = useRef(true);

  useEffect(() => {
    mounted.current = true;
    return () => {
      mounted.current = false;
    };
  }, []);

  useEffect(() => {
    itemLimitRef.current = itemLimit;
  }, [itemLimit]);

  const refreshHistory = useCallback(async () => {
    try {
      const transitions = await fetchBatchHistory(api, batchId);
      if (mounted.current) setHistory(transitions);
    } catch {
      // The history is secondary; the next status change reads it again.
    }
  }, [api, batchId]);

  // Item events carry no question text, so finished items are read again (coalesced, at most about
  // once a second, only the part of the list that is shown).
  const refreshItems = useCallback(async () => {
    const state = itemsRefresh.current;
    if (state.running) {
      state.again = true;
      return;
    }
    state.running = true;
    try {
      do {
        state.again = false;
        // This read sees every change committed so far, a status change's included.
        itemsOwed.current = false;
        try {
          const page = await fetchFirstBatchItems(api, batchId, itemLimitRef.current);
          if (!mounted.current) return;
          setItems(page.items);
          setHasMoreItems(page.hasMore);
          setItemsLoaded(true);
        } catch {
          // Keep what is shown; the next event or poll tries again.
        }
        await new Promise((resolve) => setTimeout(resolve, ITEMS_REFRESH_GAP_MS));
      } while (state.again && mounted.current);
    } finally {
      state.running = false;
    }
  }, [api, batchId]);

  const { batch, loadError, connection, retry, control } = useLiveBatch(batchId, {
    api,
    getAccessToken,
    streamOptions,
    onLoad: () => {
      void refreshItems();
      void refreshHistory();
    },
    // Once per status change on the stream: the history (who paused it), and the items (a cancel
    // drops pending items without an event per item). While items are still in flight their own
    // events make the page read the list again anyway, so that read waits for the last of them.
    onStatusChange: (changed) => {
      void refreshHistory();
      if (changed.inFlightItems === 0) void refreshItems();
      else itemsOwed.current = true;
    },
    onBatch: (changed, event) => {
      // A new stream's snapshot: item events may have been missed while it was down.
      if (event === "snapshot" || (itemsOwed.current && changed.inFlightItems === 0)) void refreshItems();
    },
    onItem: (item) => {
      setItems((current) => applyItemEvent(current, item));
      if (item.status !== "generating" && item.position < itemLimitRef.current) void refreshItems();
    },
    onEnd: () => {
      if (itemsOwed.current) void refreshItems();
    },
  });

  if (loadError !== null) {
    return <BatchLoadError error={loadError} onRetry={retry} />;
  }

  if (!batch) {
    return (
      <div className="flex justify-center py-16">
        <Spinner className="size-6 text-navy-deep" label="Loading the batch…" />
      </div>
    );
  }

  const done = processedCount(batch);
  const terminal = isTerminalStatus(batch.status);
  const config = batch.config;

  return (
    <article aria-labelledby="batch-title" className="grid min-w-0 gap-8 [&>*]:min-w-0">
      <div className="grid gap-4">
        <Link
          href="/generation/batch"
          className="inline-flex w-fit items-center gap-1 rounded-sm text-sm text-muted-foreground outline-none hover:text-foreground focus-visible:ring-2 focus-visible:ring-ring"
        >
          <ArrowLeft aria-hidden="true" className="size-4" />
          All batches
        </Link>
        <header className="flex flex-wrap items-start justify-between gap-4">
          <div className="grid gap-2">
            <div className="flex flex-wrap items-center gap-3">
              <h1 id="batch-title" className="text-2xl font-semibold tracking-tight text-navy-deep">
                {config.topic}
              </h1>
              <BatchStatusBadge status={batch.status} inFlightItems={batch.inFlightItems} data-testid="batch-status" />
            </div>
            <p className="text-sm text-muted-foreground">
              {QUESTION_TYPE_LABELS[config.questionType]} · {DIFFICULTY_LABELS[config.difficulty]} ·{" "}
              {plural(batch.totalItems, "question", "questions")} · {config.concurrency} at a time · created{" "}
              <time dateTime={batch.createdAt}>{formatClock(batch.createdAt)}</time>
            </p>
            <StreamIndicator connection={connection} />
          </div>
          <div className="flex flex-wrap items-start gap-2">
            <BatchControls
              status={batch.status}
              allowedActions={batch.allowedActions}
              pendingItems={batch.pendingItems}
              inFlightItems={batch.inFlightItems}
              completedItems={batch.completedItems}
              failedItems={batch.failedItems}
              onPause={() => control("pause")}
              onResume={() => control("resume")}
              onCancel={() => control("cancel")}
              onRetryFailed={() => control("retry_failed")}
            />
            {batch.completedItems > 0 ? <DownloadQuestionsMenu api={api} batchId={batch.id} /> : null}
          </div>
        </header>
      </div>

      <section aria-labelledby="progress-heading" className="grid gap-3">
        <h2 id="progress-heading" className="sr-only">
          Progress
        </h2>
        <div className="flex flex-wrap items-baseline justify-between gap-2 text-sm">
          <p className="font-medium" data-testid="progress-text">
            {progressText(done, batch.totalItems)}
          </p>
          <p className="text-muted-foreground" data-testid="batch-eta">
            {timeLeftText(batch)}
          </p>
        </div>
        <Progress
          aria-label="Batch progress"
          value={done}
          max={batch.totalItems}
          valueText={progressText(done, batch.totalItems)}
          className="h-3"
        />
        <dl className="grid grid-cols-2 gap-2 sm:grid-cols-5">
          <Count label="Completed" value={batch.completedItems} testId="count-completed" />
          <Count label="Failed" value={batch.failedItems} testId="count-failed" />
          <Count label="In flight" value={batch.inFlightItems} testId="count-in-flight" />
          <Count label="Pending" value={batch.pendingItems} testId="count-pending" />
          <Count label="Cancelled" value={batch.cancelledItems} testId="count-cancelled" />
        </dl>
      </section>

      <section aria-labelledby="items-heading" className="grid gap-3">
        <h2 id="items-heading" className="text-lg font-semibold">
          Questions
        </h2>
        {itemsLoaded ? (
          <>
            <BatchItemList items={items} totalItems={batch.totalItems} />
            {hasMoreItems ? (
              <Button
                variant="outline"
                className="w-fit"
                disabled={loadingMore}
                aria-busy={loadingMore || undefined}
                onClick={() => {
                  setLoadingMore(true);
                  const next = itemLimit + ITEMS_PAGE;
                  itemLimitRef.current = next;
                  setItemLimit(next);
                  void refreshItems().finally(() => setLoadingMore(false));
                }}
              >
                {loadingMore ? <Spinner /> : null}
                Show more questions
              </Button>
            ) : null}
          </>
        ) : (
          <Spinner label="Loading questions…" />
        )}
      </section>

      <section aria-labelledby="history-heading" className="grid gap-3">
        <h2 id="history-heading" className="text-lg font-semibold">
          History
        </h2>
        <BatchHistory transitions={history} createdAt={batch.createdAt} />
        {terminal ? null : (
          <p className="text-xs text-muted-foreground">This page updates by itself; there is no need to reload it.</p>
        )}
      </section>
    </article>
  );
}
