"use client";

import { TriangleAlert } from "lucide-react";
import { useId, useRef, type RefObject } from "react";
import { Button } from "@/components/ui/button";
import { Dialog, DialogContent, DialogDescription, DialogFooter, DialogHeader, DialogTitle } from "@/components/ui/dialog";
import { Spinner } from "@/components/ui/spinner";
import { describeCancelImpact } from "@/components/generation/batch-control-text";

export interface CancelConfirmDialogProps {
  readonly open: boolean;
  readonly onOpenChange: (open: boolean) => void;
  readonly pendingItems: number;
  readonly inFlightItems: number;
  readonly completedItems: number;
  /** Called by "Cancel Batch"; the owner closes the dialog when the cancel has gone through. */
  readonly onConfirm: () => void;
  /** The cancel request is in flight: "Cancel Batch" is disabled and shows a spinner, and the dialog cannot be dismissed. */
  readonly confirming: boolean;
  /** Why the last attempt failed, shown inside the dialog. */
  readonly error?: string | null;
  /** Where focus goes when the dialog closes (it has no Radix trigger to return to): the Cancel button. */
  readonly returnFocusRef?: RefObject<HTMLElement | null>;
}

/**
 * The story's destructive confirmation: it states the consequences in numbers, starts on the safe
 * choice ("Keep Running", which Escape also means), and cannot be confirmed twice.
 */
export function CancelConfirmDialog({
  open,
  onOpenChange,
  pendingItems,
  inFlightItems,
  completedItems,
  onConfirm,
  confirming,
  error = null,
  returnFocusRef,
}: CancelConfirmDialogProps) {
  const keepRunningRef = useRef<HTMLButtonElement>(null);
  const impactId = useId();

  return (
    <Dialog open={open} onOpenChange={(next) => (confirming && !next ? undefined : onOpenChange(next))}>
      <DialogContent
        role="alertdialog"
        aria-describedby={impactId}
        showCloseButton={false}
        onOpenAutoFocus={(event) => {
          event.preventDefault();
          keepRunningRef.current?.focus();
        }}
        onCloseAutoFocus={(event) => {
          if (!returnFocusRef?.current) return;
          event.preventDefault();
          returnFocusRef.current.focus();
        }}
        onEscapeKeyDown={(event) => {
          if (confirming) event.preventDefault();
        }}
        onInteractOutside={(event) => {
          if (confirming) event.preventDefault();
        }}
      >
        <DialogHeader>
          <DialogTitle>Cancel Batch Generation?</DialogTitle>
          <DialogDescription className="flex items-start gap-2 text-destructive">
            <TriangleAlert aria-hidden="true" className="mt-0.5 size-4 shrink-0" />
            <span>
              This will stop all pending items. In-progress items will complete. Completed items will be preserved.
            </span>
          </DialogDescription>
        </DialogHeader>
        <p id={impactId} className="text-sm font-medium">
          {describeCancelImpact(pendingItems, inFlightItems, completedItems)}
        </p>
        {error ? (
          <p role="alert" className="text-sm text-destructive">
            {error}
          </p>
        ) : null}
        <DialogFooter>
          <Button ref={keepRunningRef} variant="outline" disabled={confirming} onClick={() => onOpenChange(false)}>
            Keep Running
          </Button>
          <Button variant="destructive" disabled={confirming} aria-busy={confirming || undefined} onClick={onConfirm}>
            {confirming ? <Spinner /> : null}
            Cancel Batch
          </Button>
        </DialogFooter>
      </DialogContent>
    </Dialog>
  );
}
