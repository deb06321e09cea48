import type { BatchItemStatus, BatchStatus } from "@batchgen/types";
import {
  Ban,
  CircleAlert,
  CircleCheck,
  CircleDashed,
  CircleX,
  LoaderCircle,
  Pause,
  Play,
  TriangleAlert,
  type LucideIcon,
} from "lucide-react";
import { batchStatusLabel, ITEM_STATUS_LABELS } from "@/components/generation/batch-format";
import { Badge, type BadgeProps } from "@/components/ui/badge";
import { cn } from "@/lib/utils";

type Variant = NonNullable<BadgeProps["variant"]>;

// Every status has its own icon and word, so colour is never the only signal.
const BATCH_LOOK: Record<BatchStatus, { icon: LucideIcon; variant: Variant }> = {
  running: { icon: Play, variant: "default" },
  paused: { icon: Pause, variant: "outline" },
  completed: { icon: CircleCheck, variant: "success" },
  completed_with_errors: { icon: TriangleAlert, variant: "secondary" },
  failed: { icon: CircleX, variant: "destructive" },
  cancelled: { icon: Ban, variant: "secondary" },
};

export interface BatchStatusBadgeProps {
  readonly status: BatchStatus;
  readonly inFlightItems: number;
  readonly className?: string;
  readonly "data-testid"?: string;
}

export function BatchStatusBadge({ status, inFlightItems, className, ...rest }: BatchStatusBadgeProps) {
  const draining = inFlightItems > 0 && (status === "paused" || status === "cancelled");
  const look = BATCH_LOOK[status];
  const Icon = draining ? LoaderCircle : look.icon;
  return (
    <Badge variant={look.variant} className={cn("text-sm", className)} data-status={status} {...rest}>
      <Icon aria-hidden="true" className={cn(draining && "animate-spin")} />
      {batchStatusLabel(status, inFlightItems)}
    </Badge>
  );
}

const ITEM_LOOK: Record<BatchItemStatus, { icon: LucideIcon; className: string }> = {
  pending: { icon: CircleDashed, className: "border-border text-muted-foreground" },
  generating: { icon: LoaderCircle, className: "border-navy-deep text-navy-deep" },
  completed: { icon: CircleCheck, className: "border-brand-green text-foreground" },
  failed: { icon: CircleAlert, className: "border-destructive text-destructive" },
  cancelled: { icon: Ban, className: "border-border text-muted-foreground" },
};

export function BatchItemStatusBadge({ status }: { readonly status: BatchItemStatus }) {
  const look = ITEM_LOOK[status];
  const Icon = look.icon;
  return (
    <Badge variant="outline" className={look.className} data-status={status}>
      <Icon aria-hidden="true" className={cn(status === "generating" && "animate-spin")} />
      {ITEM_STATUS_LABELS[status]}
    </Badge>
  );
}
