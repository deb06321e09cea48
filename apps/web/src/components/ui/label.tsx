import type { ComponentProps } from "react";
import { cn } from "@/lib/utils";

/** A plain `<label>`: pass `htmlFor` (or wrap the control) so the control gets its accessible name. */
export function Label({ className, htmlFor, ...props }: ComponentProps<"label">) {
  return (
    <label
      data-slot="label"
      htmlFor={htmlFor}
      className={cn(
        "flex select-none items-center gap-2 text-sm font-medium leading-none peer-disabled:cursor-not-allowed peer-disabled:opacity-50",
        className,
      )}
      {...props}
    />
  );
}
