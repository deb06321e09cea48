import { render, screen } from "@testing-library/react";
import { describe, expect, it } from "vitest";
import { Progress } from "@/components/ui/progress";

describe("Progress", () => {
  it("exposes aria-valuenow, min, max and the value text (shadcn-ui#8771)", () => {
    render(<Progress aria-label="Batch progress" value={8} max={20} valueText="8 of 20 items" />);
    const bar = screen.getByRole("progressbar", { name: "Batch progress" });
    expect(bar).toHaveAttribute("aria-valuenow", "8");
    expect(bar).toHaveAttribute("aria-valuemin", "0");
    expect(bar).toHaveAttribute("aria-valuemax", "20");
    expect(bar).toHaveAttribute("aria-valuetext", "8 of 20 items");
  });

  it("falls back to a percentage as the value text", () => {
    render(<Progress aria-label="Upload" value={30} />);
    expect(screen.getByRole("progressbar", { name: "Upload" })).toHaveAttribute("aria-valuetext", "30%");
  });

  it("clamps values outside 0..max", () => {
    render(<Progress aria-label="Over" value={25} max={20} />);
    expect(screen.getByRole("progressbar", { name: "Over" })).toHaveAttribute("aria-valuenow", "20");
  });

  it("leaves aria-valuenow out while the value is unknown", () => {
    render(<Progress aria-label="Starting" value={null} />);
    const bar = screen.getByRole("progressbar", { name: "Starting" });
    expect(bar).not.toHaveAttribute("aria-valuenow");
    expect(bar).toHaveAttribute("data-state", "indeterminate");
  });
});
