import { render, screen } from "@testing-library/react";
import { describe, expect, it } from "vitest";
import { BatchHistory } from "@/components/generation/batch-history";
import type { BatchStatusTransition } from "@/lib/batch-api";

const BATCH_ID = "5b8f9c1e-47aa-4f0e-9d7a-000000000001";
const at = new Date().toISOString();

const pause: BatchStatusTransition = {
  id: "7d4f0a52-0d5e-4a59-8f64-1a2b3c4d5e6f",
  batchId: BATCH_ID,
  action: "pause",
  previousStatus: "running",
  newStatus: "paused",
  actorId: "11111111-1111-4111-8111-111111111111",
  actorEmail: "dr.jones@msm.edu",
  reason: null,
  requestId: null,
  createdAt: at,
};

describe("BatchHistory", () => {
  it("names the person behind a control action, and says what happened when the system ended a paused batch", () => {
    const complete: BatchStatusTransition = {
      ...pause,
      id: "7d4f0a52-0d5e-4a59-8f64-1a2b3c4d5e70",
      action: "complete",
      previousStatus: "paused",
      newStatus: "completed_with_errors",
      actorId: null,
      actorEmail: null,
    };
    render(<BatchHistory transitions={[complete, pause]} createdAt={at} />);
    const rows = screen.getAllByRole("listitem").map((row) => row.textContent ?? "");
    expect(rows[0]).toMatch(/^Completed with errors at \d{1,2}:\d{2}.*: nothing was left to generate after the pause$/);
    expect(rows[1]).toMatch(/^Paused by dr\.jones@msm\.edu at /);
    expect(rows[0]).not.toMatch(/unknown user/);
  });
});
