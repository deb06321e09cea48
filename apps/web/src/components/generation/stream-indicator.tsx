import { CircleCheck, Radio, RefreshCw, Timer } from "lucide-react";
import type { BatchStreamConnection } from "@/lib/batch-stream";
import { cn } from "@/lib/utils";

const LOOK: Record<BatchStreamConnection, { label: string; title: string; icon: typeof Radio; className: string }> = {
  connecting: { label: "Connecting…", title: "Opening the live connection", icon: RefreshCw, className: "text-muted-foreground" },
  live: { label: "Live", title: "Updates arrive as they happen", icon: Radio, className: "text-navy-deep" },
  reconnecting: { label: "Reconnecting…", title: "The live connection dropped; trying again", icon: RefreshCw, className: "text-muted-foreground" },
  polling: { label: "Reconnecting… (checking every few seconds)", title: "The live connection is down; the page checks for changes every few seconds", icon: Timer, className: "text-muted-foreground" },
  ended: { label: "Finished", title: "The batch is finished; nothing more will change", icon: CircleCheck, className: "text-muted-foreground" },
};

/** The small "Live" / "Reconnecting…" marker. It is a polite live region so a dropped connection is heard too. */
export function StreamIndicator({ connection }: { readonly connection: BatchStreamConnection }) {
  const look = LOOK[connection];
  const Icon = look.icon;
  const spinning = connection === "connecting" || connection === "reconnecting";
  return (
    <p
      role="status"
      aria-live="polite"
      title={look.title}
      data-testid="stream-indicator"
      data-connection={connection}
      className={cn("inline-flex items-center gap-1.5 text-xs font-medium", look.className)}
    >
      <Icon aria-hidden="true" className={cn("size-3.5", spinning && "animate-spin")} />
      <span>
        <span className="sr-only">Updates: </span>
        {look.label}
      </span>
    </p>
  );
}
