"use client";

import {
  allowedActionsFor,
  CONTROL_BUTTONS,
  isTerminalStatus,
  type BatchControlAction,
  type BatchControlButtonConfig,
  type BatchStatus,
} from "@batchgen/types";
import { Pause, Play, RotateCcw, XCircle, type LucideIcon } from "lucide-react";
import { useRef, useState } from "react";
import { CancelConfirmDialog } from "@/components/generation/CancelConfirmDialog";
import {
  describeBatchState,
  describeControlError,
  describeRetryDone,
  describeRetryRunning,
  isDraining,
  retryLabel,
} from "@/components/generation/batch-control-text";
import { Badge } from "@/components/ui/badge";
import { Button } from "@/components/ui/button";
import { Spinner } from "@/components/ui/spinner";
import { cn } from "@/lib/utils";

/** CONTROL_BUTTONS names its icons as strings; these are the lucide components behind them. */
const ICONS: Record<string, LucideIcon> = { Pause, Play, XCircle };

export interface BatchControlsProps {
  readonly status: BatchStatus;
  /** What the server allows from here (the batch view's `allowedActions`); empty when terminal. */
  readonly allowedActions: readonly BatchControlAction[];
  readonly pendingItems: number;
  readonly inFlightItems: number;
  readonly completedItems: number;
  /** Failed items: the count on the "Retry N failed" button. */
  readonly failedItems: number;
  /** Each returns the API call's promise; a rejection is shown in words next to the controls. */
  readonly onPause: () => Promise<unknown>;
  readonly onResume: () => Promise<unknown>;
  readonly onCancel: () => Promise<unknown>;
  /** POST retry-failed (issue 13): offered only while `allowedActions` lists `retry_failed`. */
  readonly onRetryFailed: () => Promise<unknown>;
  readonly className?: string;
}

/** What the live region says right after a control call; shown only while the batch is in `status`. */
interface Announcement {
  readonly text: string;
  readonly status: BatchStatus;
}

/**
 * Pause / Resume / Cancel for one batch (story F-47, sections 6 and 15), and "Retry N failed" for a
 * batch that ended with failed items (issue 13). Which buttons show comes from the server's
 * `allowedActions`; the story's label, icon, variant and confirmation from CONTROL_BUTTONS.
 */
export function BatchControls({
  status,
  allowedActions,
  pendingItems,
  inFlightItems,
  completedItems,
  failedItems,
  onPause,
  onResume,
  onCancel,
  onRetryFailed,
  className,
}: BatchControlsProps) {
  const [runningAction, setRunningAction] = useState<BatchControlAction | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [confirmOpen, setConfirmOpen] = useState(false);
  // State updates land after the click handler returns; the ref stops a double click in between.
  const inFlight = useRef(false);
  const cancelButtonRef = useRef<HTMLButtonElement>(null);

  const [announcement, setAnnouncement] = useState<Announcement | null>(null);
  const pauseResumeRef = useRef<HTMLButtonElement>(null);

  const terminal = isTerminalStatus(status);
  // What the view allows and the state table agrees with: a stale view (e.g. a terminal batch that
  // still lists pause) offers nothing the status does not allow.
  const allowed: readonly BatchControlAction[] = allowedActions.filter((action) => allowedActionsFor(status).includes(action));
  // Terminal states keep the running layout, greyed out, with the "Batch [status]" label (section 15).
  const visible: readonly BatchControlButtonConfig[] = terminal
    ? CONTROL_BUTTONS.filter((button) => button.action !== "resume")
    : CONTROL_BUTTONS.filter((button) => allowed.includes(button.action));
  const canRetry = allowed.includes("retry_failed");
  const handlers: Record<BatchControlAction, () => Promise<unknown>> = {
    pause: onPause,
    resume: onResume,
    cancel: onCancel,
    retry_failed: onRetryFailed,
  };

  async function run(action: BatchControlAction): Promise<void> {
    if (inFlight.current) return;
    inFlight.current = true;
    setRunningAction(action);
    setError(null);
    setAnnouncement(null);
    const retrying = failedItems;
    try {
      await handlers[action]();
      if (action === "cancel") setConfirmOpen(false);
      if (action === "retry_failed") {
        setAnnouncement({ text: describeRetryDone(retrying), status: "running" });
        // The Retry button is gone now (the batch runs again): keep keyboard users in the controls.
        requestAnimationFrame(() => {
          if (document.activeElement === document.body) pauseResumeRef.current?.focus();
        });
      }
    } catch (caught) {
      setError(describeControlError(action, caught));
    } finally {
      inFlight.current = false;
      setRunningAction(null);
    }
  }

  function press(button: BatchControlButtonConfig) {
    if (button.requiresConfirmation) {
      setError(null);
      setConfirmOpen(true);
      return;
    }
    void run(button.action);
  }

  const stateText =
    runningAction === "retry_failed"
      ? describeRetryRunning(failedItems)
      : announcement?.status === status
        ? announcement.text
        : describeBatchState(status, inFlightItems);
  const showStateVisibly = terminal || isDraining(status, inFlightItems);
  // The dialog only makes sense while a cancel is still possible (e.g. another tab may have finished it).
  const dialogOpen = confirmOpen && allowed.includes("cancel");

  return (
    <div className={cn("flex flex-col gap-2", className)}>
      <div className="flex flex-wrap items-center gap-2">
      <div role="group" aria-label="Batch controls" className="flex flex-wrap items-center gap-2">
        {visible.map((button) => {
          const Icon = ICONS[button.icon];
          const processing = runningAction === button.action;
          const available = !terminal && allowed.includes(button.action);
          return (
            <Button
              // Pause and Resume share one slot, so the focused button stays focused when a pause
              // turns it into Resume (keyboard users go on with Tab to Cancel).
              key={button.action === "cancel" ? "cancel" : "pause-resume"}
              ref={button.action === "cancel" ? cancelButtonRef : pauseResumeRef}
              variant={button.variant}
              // Unavailable actions are really disabled. While a call is in flight the buttons are
              // only aria-disabled: a disabled button drops keyboard focus, this keeps it in place.
              disabled={!available}
              aria-disabled={available && runningAction !== null ? true : undefined}
              aria-busy={processing || undefined}
              onClick={() => {
                if (runningAction === null) press(button);
              }}
            >
              {processing ? <Spinner /> : Icon ? <Icon aria-hidden="true" /> : null}
              {button.label}
            </Button>
          );
        })}
        <p role="status" aria-live="polite" aria-atomic="true" className="text-sm">
          {showStateVisibly ? (
            <Badge variant={terminal && status !== "cancelled" ? "secondary" : "outline"} className="text-sm">
              {isDraining(status, inFlightItems) ? <Spinner /> : null}
              {stateText}
            </Badge>
          ) : (
            <span className="sr-only">{stateText}</span>
          )}
        </p>
      </div>
      {canRetry ? (
        // Outside the story's group: its Pause and Cancel stay greyed out for a finished batch.
        <Button
          variant="default"
          disabled={runningAction !== null && runningAction !== "retry_failed"}
          aria-disabled={runningAction === "retry_failed" ? true : undefined}
          aria-busy={runningAction === "retry_failed" || undefined}
          onClick={() => {
            if (runningAction === null) void run("retry_failed");
          }}
        >
          {runningAction === "retry_failed" ? <Spinner /> : <RotateCcw aria-hidden="true" />}
          {retryLabel(failedItems)}
        </Button>
      ) : null}
      </div>
      {error && !dialogOpen ? (
        <p role="alert" className="text-sm text-destructive">
          {error}
        </p>
      ) : null}
      <CancelConfirmDialog
        open={dialogOpen}
        onOpenChange={setConfirmOpen}
        pendingItems={pendingItems}
        inFlightItems={inFlightItems}
        completedItems={completedItems}
        confirming={runningAction === "cancel"}
        error={error}
        onConfirm={() => void run("cancel")}
        returnFocusRef={cancelButtonRef}
      />
    </div>
  );
}
