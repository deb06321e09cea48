import { describe, expect, it } from "vitest";
import {
  allowedActionsFor,
  batchControlBodySchema,
  CONTROL_BUTTONS,
  createBatchRequestSchema,
  isStorableText,
  isTerminalStatus,
  TERMINAL_STATES,
  VALID_STATUS_TRANSITIONS,
  type BatchControlRequest,
} from "../src/index.ts";

describe("story F-47 contract", () => {
  it("allows pause and cancel while running, resume and cancel while paused, a retry of the failed items once finished with failures, nothing else", () => {
    expect(VALID_STATUS_TRANSITIONS).toEqual({
      running: ["pause", "cancel"],
      paused: ["resume", "cancel"],
      // Issue 13: the table gains retry_failed, from the two ends that have failed items.
      completed_with_errors: ["retry_failed"],
      failed: ["retry_failed"],
    });
    expect(allowedActionsFor("completed")).toEqual([]);
    expect(allowedActionsFor("cancelled")).toEqual([]);
    expect(allowedActionsFor("nonsense")).toEqual([]);
  });

  it("names every terminal state", () => {
    expect([...TERMINAL_STATES]).toEqual(["completed", "completed_with_errors", "failed", "cancelled"]);
    expect(isTerminalStatus("cancelled")).toBe(true);
    expect(isTerminalStatus("paused")).toBe(false);
  });

  it("configures the three buttons with their lucide icons and variants", () => {
    expect(CONTROL_BUTTONS.map((b) => [b.action, b.icon, b.variant, b.requiresConfirmation])).toEqual([
      ["pause", "Pause", "outline", false],
      ["resume", "Play", "default", false],
      ["cancel", "XCircle", "destructive", true],
    ]);
  });
});

describe("createBatchRequestSchema", () => {
  const valid = { topic: "Cardiac physiology", questionType: "single_best_answer", difficulty: "medium", count: 20 };

  it("fills defaults for concurrency and generator", () => {
    expect(createBatchRequestSchema.parse(valid)).toEqual({ ...valid, concurrency: 5, generator: "simulated" });
  });

  it.each([
    ["topic", { topic: "" }],
    ["topic", { topic: "x".repeat(201) }],
    ["questionType", { questionType: "essay" }],
    ["difficulty", { difficulty: "impossible" }],
    ["count", { count: 0 }],
    ["count", { count: 10_001 }],
    ["count", { count: 2.5 }],
    ["count", { count: "20" }],
    ["concurrency", { concurrency: 21 }],
    ["generator", { generator: "gpt" }],
  ])("rejects a bad %s and names it", (field, patch) => {
    const result = createBatchRequestSchema.safeParse({ ...valid, ...patch });
    expect(result.success).toBe(false);
    expect(result.error?.issues[0]?.path).toEqual([field]);
  });

  it("rejects unknown fields", () => {
    expect(createBatchRequestSchema.safeParse({ ...valid, extra: 1 }).success).toBe(false);
  });
});

describe("batchControlBodySchema", () => {
  it("accepts an empty body and a short reason, rejects a long one", () => {
    expect(batchControlBodySchema.parse({})).toEqual({});
    expect(batchControlBodySchema.parse({ reason: "lunch" })).toEqual({ reason: "lunch" });
    expect(batchControlBodySchema.safeParse({ reason: "x".repeat(501) }).success).toBe(false);
  });
});

describe("text the database stores exactly as sent", () => {
  const valid = { topic: "Renal physiology", questionType: "single_best_answer", difficulty: "medium", count: 5 } as const;

  it.each(["a\u0000b", "tab\there", "line\nbreak", "\u007f", "lone \ud800 high", "lone \udc00 low", "\udc00\ud800"])("a topic %j is refused, naming topic", (topic) => {
    const result = createBatchRequestSchema.safeParse({ ...valid, topic });
    expect(result.success).toBe(false);
    expect(result.error?.issues[0]?.path).toEqual(["topic"]);
  });

  it("a topic with accents, emoji (surrogate pairs) and other scripts is fine", () => {
    expect(createBatchRequestSchema.parse({ ...valid, topic: "Néphrologie 🫘 腎臓" }).topic).toBe("Néphrologie 🫘 腎臓");
  });

  it("a reason may span lines but holds no NUL or lone surrogate", () => {
    expect(batchControlBodySchema.parse({ reason: "first line\nsecond\tline\r\n" }).reason).toBe("first line\nsecond\tline\r\n");
    expect(batchControlBodySchema.safeParse({ reason: "nul\u0000" }).success).toBe(false);
    expect(batchControlBodySchema.safeParse({ reason: "half \ud83d" }).success).toBe(false);
  });

  it("isStorableText says the same", () => {
    expect(isStorableText("ok")).toBe(true);
    expect(isStorableText("a\nb")).toBe(false);
    expect(isStorableText("a\nb", true)).toBe(true);
    expect(isStorableText("\u0000", true)).toBe(false);
  });
});

describe("batchControlBodySchema carries the story's BatchControlRequest", () => {
  it("accepts { action } for each action, with or without a reason", () => {
    for (const action of ["pause", "resume", "cancel", "retry_failed"] as const) {
      const request: BatchControlRequest = { action };
      expect(batchControlBodySchema.parse(request)).toEqual({ action });
      expect(batchControlBodySchema.parse({ ...request, reason: "why" })).toEqual({ action, reason: "why" });
    }
  });

  it("refuses an action that is not one of the four, naming the field and the four", () => {
    for (const action of ["stop", "retry-failed"]) {
      const result = batchControlBodySchema.safeParse({ action });
      expect(result.success).toBe(false);
      expect(result.error?.issues[0]?.path).toEqual(["action"]);
      expect(result.error?.issues[0]?.message).toBe("action must be one of pause, resume, cancel, retry_failed");
    }
  });
});
