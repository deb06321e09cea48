import type { ComponentProps } from "react";
import { cn } from "@/lib/utils";

export type ProgressProps = Omit<ComponentProps<"div">, "role" | "children"> & {
  /** Current value between 0 and `max`; null or undefined means indeterminate (no aria-valuenow). */
  value?: number | null;
  max?: number;
  /** What a screen reader says instead of a bare percentage, e.g. "8 of 20 items". */
  valueText?: string;
};

/**
 * A progress bar that really exposes its value: shadcn's Progress (shadcn-ui#8771) forgets to pass
 * `value` to Radix, so assistive tech never hears it. This one writes the ARIA attributes itself.
 */
export function Progress({ className, value, max = 100, valueText, ...props }: ProgressProps) {
  const safeMax = max > 0 ? max : 100;
  const known = typeof value === "number" && Number.isFinite(value);
  const clamped = known ? Math.min(Math.max(value, 0), safeMax) : 0;
  const percent = (clamped / safeMax) * 100;
  return (
    <div
      data-slot="progress"
      role="progressbar"
      aria-valuemin={0}
      aria-valuemax={safeMax}
      aria-valuenow={known ? clamped : undefined}
      aria-valuetext={known ? (valueText ?? `${Math.round(percent)}%`) : valueText}
      data-state={!known ? "indeterminate" : clamped >= safeMax ? "complete" : "loading"}
      className={cn("relative h-2 w-full overflow-hidden rounded-full bg-muted", className)}
      {...props}
    >
      <div
        data-slot="progress-indicator"
        className="h-full w-full flex-1 bg-navy-deep transition-transform duration-300"
        style={{ transform: `translateX(-${100 - percent}%)` }}
      />
    </div>
  );
}
