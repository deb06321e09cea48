import { LoaderCircle } from "lucide-react";
import type { ComponentProps } from "react";
import { cn } from "@/lib/utils";

export type SpinnerProps = Omit<ComponentProps<"svg">, "ref"> & {
  /**
   * With a label the spinner is its own `role="status"` ("Loading…"). Without one it is decoration
   * (aria-hidden), e.g. inside a button whose own name and `aria-busy` already say what is going on.
   */
  label?: string;
};

export function Spinner({ className, label, ...props }: SpinnerProps) {
  const icon = (
    <LoaderCircle data-slot="spinner" aria-hidden="true" className={cn("size-4 animate-spin", className)} {...props} />
  );
  if (!label) return icon;
  return (
    <span role="status" className="inline-flex items-center gap-2">
      {icon}
      <span className="sr-only">{label}</span>
    </span>
  );
}
