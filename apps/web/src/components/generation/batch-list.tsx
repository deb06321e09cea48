"use client";

import { isTerminalStatus, QUESTION_TYPE_LABELS, type BatchSummary } from "@batchgen/types";
import Link from "next/link";
import { useCallback, useEffect, useRef, useState } from "react";
import { formatDateTime, progressText } from "@/components/generation/batch-format";
import { BatchStatusBadge } from "@/components/generation/batch-status-badge";
import { DownloadQuestionsMenu } from "@/components/generation/download-questions-menu";
import { Alert, AlertDescription } from "@/components/ui/alert";
import { Button } from "@/components/ui/button";
import { Progress } from "@/components/ui/progress";
import { Spinner } from "@/components/ui/spinner";
import type { ApiClient } from "@/lib/api";
import { fetchBatchPage } from "@/lib/batch-api";
import { processedCount } from "@/lib/batch-progress-state";

const PAGE_SIZE = 20;
/** While any listed batch is still running or draining, the first page is re-read this often. */
const REFRESH_MS = 5_000;

/** Fresh rows replace the ones with the same id; batches that are new since the first read go on top. */
export function mergeBatchRows(current: readonly BatchSummary[], fresh: readonly BatchSummary[]): BatchSummary[] {
  const byId = new Map(fresh.map((batch) => [batch.id, batch]));
  const known = new Set(current.map((batch) => batch.id));
  const added = fresh.filter((batch) => !known.has(batch.id));
  return [...added, ...current.map((batch) => byId.get(batch.id) ?? batch)];
}

function BatchRow({ batch, api }: { readonly batch: BatchSummary; readonly api: ApiClient }) {
  const done = processedCount(batch);
  // Finished (and drained) batches with questions to take away.
  const downloadable = isTerminalStatus(batch.status) && batch.inFlightItems === 0 && batch.completedItems > 0;
  const text = progressText(done, batch.totalItems);
  return (
    <li className="grid gap-2 rounded-lg border border-border bg-background p-4" data-testid="batch-row">
      <div className="flex flex-wrap items-center justify-between gap-2">
        <Link
          href={`/generation/batch/${batch.id}`}
          className="rounded-sm font-semibold text-navy-deep underline-offset-4 outline-none hover:underline focus-visible:ring-2 focus-visible:ring-ring"
        >
          {batch.config.topic}
        </Link>
        <div className="flex flex-wrap items-center gap-2">
          <BatchStatusBadge status={batch.status} inFlightItems={batch.inFlightItems} />
          {downloadable ? <DownloadQuestionsMenu api={api} batchId={batch.id} topic={batch.config.topic} size="sm" /> : null}
        </div>
      </div>
      <Progress aria-label={`Progress of ${batch.config.topic}`} value={done} max={batch.totalItems} valueText={text} />
      <div className="flex flex-wrap justify-between gap-2 text-sm text-muted-foreground">
        <span>
          {text}
          {batch.failedItems > 0 ? ` · ${batch.failedItems} failed` : ""} · {QUESTION_TYPE_LABELS[batch.config.questionType]}
        </span>
        <span>
          Created <time dateTime={batch.createdAt}>{formatDateTime(batch.createdAt)}</time>
        </span>
      </div>
    </li>
  );
}

export interface BatchListProps {
  readonly api: ApiClient;
  /** Test seam. */
  readonly refreshMs?: number;
}

/** The signed-in faculty member's batches, newest first, with "Load more". */
export function BatchList({ api, refreshMs = REFRESH_MS }: BatchListProps) {
  const [batches, setBatches] = useState<BatchSummary[]>([]);
  const [nextCursor, setNextCursor] = useState<string | null>(null);
  const [loaded, setLoaded] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [loadingMore, setLoadingMore] = useState(false);
  const [attempt, setAttempt] = useState(0);
  const count = useRef(0);

  useEffect(() => {
    count.current = batches.length;
  }, [batches.length]);

  useEffect(() => {
    let cancelled = false;
    fetchBatchPage(api, { limit: PAGE_SIZE }).then(
      (page) => {
        if (cancelled) return;
        setBatches(page.items);
        setNextCursor(page.nextCursor);
        setLoaded(true);
        setError(null);
      },
      (caught: unknown) => {
        if (!cancelled) setError(caught instanceof Error ? caught.message : "Could not load your batches.");
      },
    );
    return () => {
      cancelled = true;
    };
  }, [api, attempt]);

  const active = batches.some((batch) => !isTerminalStatus(batch.status) || batch.inFlightItems > 0);
  const refresh = useCallback(async () => {
    try {
      const page = await fetchBatchPage(api, { limit: Math.min(100, Math.max(PAGE_SIZE, count.current)) });
      setBatches((current) => mergeBatchRows(current, page.items));
    } catch {
      // Keep the rows shown; the next tick tries again.
    }
  }, [api]);

  useEffect(() => {
    if (!active) return;
    const timer = setInterval(() => void refresh(), refreshMs);
    return () => clearInterval(timer);
  }, [active, refresh, refreshMs]);

  async function loadMore() {
    if (!nextCursor) return;
    setLoadingMore(true);
    try {
      const page = await fetchBatchPage(api, { limit: PAGE_SIZE, cursor: nextCursor });
      setBatches((current) => {
        const known = new Set(current.map((batch) => batch.id));
        return [...current, ...page.items.filter((batch) => !known.has(batch.id))];
      });
      setNextCursor(page.nextCursor);
      setError(null);
    } catch (caught) {
      setError(caught instanceof Error ? caught.message : "Could not load more batches.");
    } finally {
      setLoadingMore(false);
    }
  }

  if (!loaded && error === null) return <Spinner label="Loading your batches…" />;

  return (
    <div className="grid gap-3">
      {error ? (
        <Alert variant="destructive">
          <AlertDescription className="flex flex-wrap items-center gap-3">
            <span>{error}</span>
            {!loaded ? (
              <Button size="sm" variant="outline" onClick={() => setAttempt((value) => value + 1)}>
                Try again
              </Button>
            ) : null}
          </AlertDescription>
        </Alert>
      ) : null}
      {loaded && batches.length === 0 ? (
        <p className="text-muted-foreground">No batches yet. Create your first one with the form.</p>
      ) : null}
      {batches.length > 0 ? (
        <ul className="grid gap-3" aria-label="Your batches">
          {batches.map((batch) => (
            <BatchRow key={batch.id} batch={batch} api={api} />
          ))}
        </ul>
      ) : null}
      {nextCursor ? (
        <Button variant="outline" className="w-fit" onClick={() => void loadMore()} disabled={loadingMore} aria-busy={loadingMore || undefined}>
          {loadingMore ? <Spinner /> : null}
          Load more
        </Button>
      ) : null}
    </div>
  );
}
