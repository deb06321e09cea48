import { describeTransition, formatClock } from "@/components/generation/batch-format";
import type { BatchStatusTransition } from "@/lib/batch-api";

export interface BatchHistoryProps {
  /** Newest first, as the API sends them. */
  readonly transitions: readonly BatchStatusTransition[];
  readonly createdAt: string;
}

/** Who paused, resumed or cancelled the batch, and when: "Paused by dr.jones@msm.edu at 12:05". */
export function BatchHistory({ transitions, createdAt }: BatchHistoryProps) {
  return (
    <ol className="grid gap-1 text-sm" data-testid="batch-history">
      {transitions.map((transition) => (
        <li key={transition.id}>
          <time dateTime={transition.createdAt}>{describeTransition(transition)}</time>
          {transition.reason ? <span className="text-muted-foreground"> — “{transition.reason}”</span> : null}
        </li>
      ))}
      <li className="text-muted-foreground">
        <time dateTime={createdAt}>Created at {formatClock(createdAt)}</time>
      </li>
    </ol>
  );
}
