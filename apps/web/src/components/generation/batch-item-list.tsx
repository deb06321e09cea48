import type { BatchItem } from "@batchgen/types";
import { CircleCheck } from "lucide-react";
import { BatchItemStatusBadge } from "@/components/generation/batch-status-badge";

function QuestionBody({ item }: { readonly item: BatchItem }) {
  const question = item.result;
  if (!question) return null;
  return (
    <div className="grid gap-3 pt-3 text-sm">
      <p className="leading-relaxed">{question.stem}</p>
      <ol className="grid gap-1" aria-label={`Options for question ${item.position + 1}`}>
        {question.options.map((option) => {
          const correct = option.label === question.answer;
          return (
            <li
              key={option.label}
              className={correct ? "flex gap-2 rounded-md border border-brand-green bg-brand-green/10 px-2 py-1 font-medium" : "flex gap-2 px-2 py-1"}
            >
              <span className="w-5 shrink-0 font-semibold">{option.label}.</span>
              <span>{option.text}</span>
              {correct ? (
                <span className="ml-auto inline-flex shrink-0 items-center gap-1 text-xs">
                  <CircleCheck aria-hidden="true" className="size-3.5" />
                  Correct answer
                </span>
              ) : null}
            </li>
          );
        })}
      </ol>
      <p>
        <span className="font-semibold">Answer: </span>
        {question.answer}
      </p>
      <p className="leading-relaxed text-muted-foreground">
        <span className="font-semibold text-foreground">Explanation: </span>
        {question.explanation}
      </p>
    </div>
  );
}

export interface BatchItemListProps {
  readonly items: readonly BatchItem[];
  readonly totalItems: number;
}

/**
 * The items by position. A generated question opens with a native disclosure (<details>), which is
 * keyboard- and screen-reader-friendly without any script; a failed item shows its last error in
 * words, and so does a retried one until it is generated again.
 */
export function BatchItemList({ items, totalItems }: BatchItemListProps) {
  if (items.length === 0) {
    return <p className="text-sm text-muted-foreground">No questions yet.</p>;
  }
  return (
    <ol className="grid min-w-0 gap-2" aria-label={`Questions, ${items.length} of ${totalItems} shown`}>
      {items.map((item) => {
        const title = `Question ${item.position + 1}`;
        return (
          <li key={item.id} className="min-w-0 rounded-lg border border-border bg-background px-4 py-3" data-testid="batch-item" data-status={item.status}>
            {item.result ? (
              <details>
                <summary className="flex cursor-pointer items-center gap-3 rounded-sm outline-none focus-visible:ring-2 focus-visible:ring-ring">
                  <span className="shrink-0 font-medium">{title}</span>
                  <BatchItemStatusBadge status={item.status} />
                  <span className="min-w-0 flex-1 truncate text-sm text-muted-foreground">{item.result.stem}</span>
                </summary>
                <QuestionBody item={item} />
              </details>
            ) : (
              <div className="flex flex-wrap items-center gap-x-3 gap-y-1">
                <span className="font-medium">{title}</span>
                <BatchItemStatusBadge status={item.status} />
                {item.status === "completed" ? <span className="text-sm text-muted-foreground">Loading the question…</span> : null}
                {item.error ? (
                  <p className="w-full text-sm text-destructive" data-testid="item-error">
                    {/* A retried item keeps its last error until it is claimed again (issue 13). */}
                    <span className="font-semibold">Last error: </span>
                    {item.error}
                    {item.status === "failed" && item.attempts > 1 ? ` (after ${item.attempts} attempts)` : null}
                  </p>
                ) : null}
              </div>
            )}
          </li>
        );
      })}
    </ol>
  );
}
