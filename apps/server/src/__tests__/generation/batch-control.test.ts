import { randomUUID } from "node:crypto";
import express from "express";
import { pino } from "pino";
import request from "supertest";
import { beforeEach, describe, expect, it, vi } from "vitest";
import { createTestSigner, supabaseClaims, TEST_SUPABASE_URL, type TestSigner } from "../../../test/support/keys.ts";
import { createTokenVerifier } from "../../auth/token-verifier.ts";
import { BatchControlController } from "../../controllers/generation/batch-control.controller.ts";
import { InvalidBatchStatusTransitionError } from "../../errors/batch.errors.ts";
import { requireAuth } from "../../middleware/auth.middleware.ts";
import { createErrorMiddleware } from "../../middleware/error.middleware.ts";
import { requireRole } from "../../middleware/rbac.middleware.ts";
import { BatchControlService } from "../../services/generation/batch-control.service.ts";
import { FakeBatchControlStore } from "./fake-batch-control-store.ts";

// The user story's fixtures (a running batch of 20 items, 8 completed), with uuids where the API requires them.
const BATCH_ID = "5b8f9c1e-47aa-4f0e-9d7a-000000000001";
const FACULTY_1 = "f0000000-0000-4000-8000-000000000001";
const FACULTY_2 = "f0000000-0000-4000-8000-000000000002";

export const MOCK_RUNNING_BATCH = {
  id: BATCH_ID,
  user_id: FACULTY_1,
  status: "running",
  total_items: 20,
  completed_items: 8,
  failed_items: 0,
};
export const MOCK_PAUSED_BATCH = { ...MOCK_RUNNING_BATCH, status: "paused" };
export const MOCK_COMPLETED_BATCH = { ...MOCK_RUNNING_BATCH, status: "completed", completed_items: 20 };
export const MOCK_CANCELLED_BATCH = { ...MOCK_RUNNING_BATCH, status: "cancelled", completed_items: 8 };

export const BATCH_OWNER = {
  sub: FACULTY_1,
  email: "dr.jones@msm.edu",
  role: "faculty" as const,
  institution_id: "1e000000-0000-4000-8000-000000000001",
};
export const NON_OWNER = { ...BATCH_OWNER, sub: FACULTY_2, email: "dr.smith@msm.edu" };

export const mockInngestSend = vi.fn().mockResolvedValue(undefined);

// 8 completed, 2 generating, 10 pending: the running fixture's 20 items.
const ITEMS = [
  ...Array<"completed">(8).fill("completed"),
  ...Array<"generating">(2).fill("generating"),
  ...Array<"pending">(10).fill("pending"),
];

let store: FakeBatchControlStore;
let service: BatchControlService;

function withBatch(batch: typeof MOCK_RUNNING_BATCH) {
  store.addBatch(batch, ITEMS);
}

beforeEach(() => {
  mockInngestSend.mockClear();
  store = new FakeBatchControlStore();
  service = new BatchControlService(store, store.outboxSendingTo({ send: mockInngestSend }));
});

describe("BatchControlService", () => {
  describe("pause", () => {
    it("transitions running batch to paused status", async () => {
      withBatch(MOCK_RUNNING_BATCH);
      const result = await service.pause(BATCH_OWNER, BATCH_ID);
      expect(result.response).toMatchObject({ batchId: BATCH_ID, previousStatus: "running", newStatus: "paused", action: "pause" });
      expect(new Date(result.response.timestamp).toISOString()).toBe(result.response.timestamp);
      expect(store.batches.get(BATCH_ID)?.status).toBe("paused");
      expect(store.events).toHaveLength(1);
      expect(store.events[0]).toMatchObject({ action: "pause", previousStatus: "running", newStatus: "paused", actorId: FACULTY_1 });
    });

    it("sends batch.pause Inngest event", async () => {
      withBatch(MOCK_RUNNING_BATCH);
      await service.pause(BATCH_OWNER, BATCH_ID);
      expect(mockInngestSend).toHaveBeenCalledTimes(1);
      expect(mockInngestSend).toHaveBeenCalledWith(
        expect.objectContaining({ name: "batch.pause", data: expect.objectContaining({ batchId: BATCH_ID, actorId: FACULTY_1 }) }),
      );
      await store.settled();
      expect(store.outbox[0]?.sent).toBe(true);
    });

    it("throws InvalidBatchStatusTransitionError for non-running batch", async () => {
      for (const batch of [MOCK_PAUSED_BATCH, MOCK_COMPLETED_BATCH, MOCK_CANCELLED_BATCH]) {
        store = new FakeBatchControlStore();
        service = new BatchControlService(store, store.outboxSendingTo({ send: mockInngestSend }));
        withBatch(batch);
        const error = await service.pause(BATCH_OWNER, BATCH_ID).catch((caught: unknown) => caught);
        expect(error).toBeInstanceOf(InvalidBatchStatusTransitionError);
        expect(error).toMatchObject({ currentStatus: batch.status, action: "pause" });
        expect(store.batches.get(BATCH_ID)?.status).toBe(batch.status);
      }
      expect(mockInngestSend).not.toHaveBeenCalled();
    });
  });

  describe("resume", () => {
    it("transitions paused batch to running status", async () => {
      withBatch(MOCK_PAUSED_BATCH);
      const result = await service.resume(BATCH_OWNER, BATCH_ID);
      expect(result.response).toMatchObject({ previousStatus: "paused", newStatus: "running", action: "resume" });
      expect(store.batches.get(BATCH_ID)?.status).toBe("running");
    });

    it("sends batch.resume Inngest event", async () => {
      withBatch(MOCK_PAUSED_BATCH);
      await service.resume(BATCH_OWNER, BATCH_ID);
      expect(mockInngestSend).toHaveBeenCalledWith(expect.objectContaining({ name: "batch.resume", data: expect.objectContaining({ batchId: BATCH_ID }) }));
    });

    it("throws InvalidBatchStatusTransitionError for non-paused batch", async () => {
      withBatch(MOCK_RUNNING_BATCH);
      await expect(service.resume(BATCH_OWNER, BATCH_ID)).rejects.toBeInstanceOf(InvalidBatchStatusTransitionError);
      await expect(service.resume(BATCH_OWNER, BATCH_ID)).rejects.toMatchObject({ allowedActions: ["pause", "cancel"] });
      expect(store.batches.get(BATCH_ID)?.status).toBe("running");
      expect(mockInngestSend).not.toHaveBeenCalled();
    });
  });

  describe("cancel", () => {
    it("transitions running batch to cancelled status", async () => {
      withBatch(MOCK_RUNNING_BATCH);
      const result = await service.cancel(BATCH_OWNER, BATCH_ID);
      expect(result.response).toMatchObject({ previousStatus: "running", newStatus: "cancelled", action: "cancel" });
      expect(store.batches.get(BATCH_ID)?.status).toBe("cancelled");
    });

    it("transitions paused batch to cancelled status", async () => {
      withBatch(MOCK_PAUSED_BATCH);
      const result = await service.cancel(BATCH_OWNER, BATCH_ID);
      expect(result.response).toMatchObject({ previousStatus: "paused", newStatus: "cancelled", action: "cancel" });
    });

    it("sends batch.cancel Inngest event", async () => {
      withBatch(MOCK_RUNNING_BATCH);
      await service.cancel(BATCH_OWNER, BATCH_ID);
      expect(mockInngestSend).toHaveBeenCalledWith(expect.objectContaining({ name: "batch.cancel", data: expect.objectContaining({ batchId: BATCH_ID, newStatus: "cancelled" }) }));
    });

    it("throws InvalidBatchStatusTransitionError for terminal state batch", async () => {
      for (const batch of [MOCK_COMPLETED_BATCH, MOCK_CANCELLED_BATCH, { ...MOCK_RUNNING_BATCH, status: "failed" }, { ...MOCK_RUNNING_BATCH, status: "completed_with_errors" }]) {
        store = new FakeBatchControlStore();
        service = new BatchControlService(store, store.outboxSendingTo({ send: mockInngestSend }));
        withBatch(batch);
        // No terminal status allows a cancel; a finished batch with failed items allows only retry_failed (issue 13).
        const allowedActions = batch.status === "failed" || batch.status === "completed_with_errors" ? ["retry_failed"] : [];
        await expect(service.cancel(BATCH_OWNER, BATCH_ID)).rejects.toMatchObject({ code: "INVALID_TRANSITION", allowedActions });
      }
      expect(mockInngestSend).not.toHaveBeenCalled();
    });

    it("preserves completed items (no deletion)", async () => {
      withBatch(MOCK_RUNNING_BATCH);
      const before = store.items.filter((item) => item.status === "completed").map((item) => ({ ...item }));
      await service.cancel(BATCH_OWNER, BATCH_ID);
      expect(store.items).toHaveLength(20);
      expect(store.items.filter((item) => item.status === "completed")).toEqual(before);
      // Pending work is dropped; in-flight items are left to finish.
      expect(store.items.filter((item) => item.status === "cancelled")).toHaveLength(10);
      expect(store.items.filter((item) => item.status === "generating")).toHaveLength(2);
    });
  });

  it("keeps the change when the event cannot be sent yet (the outbox delivers it later)", async () => {
    withBatch(MOCK_RUNNING_BATCH);
    const failing = vi.fn().mockRejectedValue(new Error("engine unreachable"));
    service = new BatchControlService(store, store.outboxSendingTo({ send: failing }));
    const result = await service.pause(BATCH_OWNER, BATCH_ID);
    await store.settled();
    expect(result.response.newStatus).toBe("paused");
    expect(store.outbox).toEqual([expect.objectContaining({ sent: false, event: expect.objectContaining({ name: "batch.pause" }) })]);
  });

  it("replays the first response for a repeated Idempotency-Key and refuses the key for another action", async () => {
    withBatch(MOCK_RUNNING_BATCH);
    const first = await service.pause(BATCH_OWNER, BATCH_ID, { idempotencyKey: "k-1" });
    const again = await service.pause(BATCH_OWNER, BATCH_ID, { idempotencyKey: "k-1" });
    expect(again).toEqual({ ...first, replayed: true });
    expect(mockInngestSend).toHaveBeenCalledTimes(1);
    await expect(service.resume(BATCH_OWNER, BATCH_ID, { idempotencyKey: "k-1" })).rejects.toMatchObject({ code: "IDEMPOTENCY_CONFLICT", status: 422 });
  });

  it("refuses a repeated Idempotency-Key whose reason differs (422), and replays one whose reason is the same", async () => {
    withBatch(MOCK_RUNNING_BATCH);
    const first = await service.pause(BATCH_OWNER, BATCH_ID, { idempotencyKey: "k-2", reason: "lunch" });
    expect(await service.pause(BATCH_OWNER, BATCH_ID, { idempotencyKey: "k-2", reason: "lunch" })).toEqual({ ...first, replayed: true });
    for (const reason of ["meeting", undefined]) {
      await expect(service.pause(BATCH_OWNER, BATCH_ID, { idempotencyKey: "k-2", reason })).rejects.toMatchObject({
        code: "IDEMPOTENCY_CONFLICT",
        status: 422,
        details: { idempotencyKey: "k-2", fields: ["reason"] },
      });
    }
    expect(store.events).toHaveLength(1);
  });
});

describe("BatchControlController", () => {
  let signer: TestSigner;

  async function appFor() {
    signer ??= await createTestSigner();
    const controller = new BatchControlController(service);
    const app = express();
    app.use(express.json());
    app.use(requireAuth(createTokenVerifier({ supabaseUrl: TEST_SUPABASE_URL, keyResolver: signer.keyResolver })));
    app.post("/api/v1/generation/batch/:batchId/pause", requireRole("faculty"), controller.handlePause);
    app.post("/api/v1/generation/batch/:batchId/resume", requireRole("faculty"), controller.handleResume);
    app.post("/api/v1/generation/batch/:batchId/cancel", requireRole("faculty"), controller.handleCancel);
    app.use(createErrorMiddleware(pino({ level: "silent" })));
    return app;
  }

  const tokenFor = (user: typeof BATCH_OWNER) => signer.sign(supabaseClaims({ sub: user.sub, email: user.email, role: user.role, institutionId: user.institution_id }));

  it("rejects unauthenticated request (401)", async () => {
    withBatch(MOCK_RUNNING_BATCH);
    const response = await request(await appFor()).post(`/api/v1/generation/batch/${BATCH_ID}/pause`);
    expect(response.status).toBe(401);
    expect(response.body).toEqual({ data: null, error: { code: "UNAUTHORIZED", message: expect.any(String) } });
    expect(store.batches.get(BATCH_ID)?.status).toBe("running");
  });

  it("rejects non-owner access (403)", async () => {
    withBatch(MOCK_RUNNING_BATCH);
    const app = await appFor();
    const response = await request(app).post(`/api/v1/generation/batch/${BATCH_ID}/pause`).set("Authorization", `Bearer ${await tokenFor(NON_OWNER)}`);
    expect(response.status).toBe(403);
    expect(response.body.error.code).toBe("FORBIDDEN");
    const student = await request(app)
      .post(`/api/v1/generation/batch/${BATCH_ID}/cancel`)
      .set("Authorization", `Bearer ${await signer.sign(supabaseClaims({ sub: randomUUID(), email: "student@msm.edu", role: "student" }))}`);
    expect(student.status).toBe(403);
    expect(store.batches.get(BATCH_ID)?.status).toBe("running");
    expect(mockInngestSend).not.toHaveBeenCalled();
  });

  it("returns 404 for non-existent batch", async () => {
    const app = await appFor();
    const missing = await request(app).post(`/api/v1/generation/batch/${randomUUID()}/pause`).set("Authorization", `Bearer ${await tokenFor(BATCH_OWNER)}`);
    expect(missing.status).toBe(404);
    expect(missing.body.error.code).toBe("NOT_FOUND");
    const malformed = await request(app).post("/api/v1/generation/batch/not-a-uuid/pause").set("Authorization", `Bearer ${await tokenFor(BATCH_OWNER)}`);
    expect(malformed.status).toBe(404);
  });

  it("returns 409 for invalid status transition", async () => {
    withBatch(MOCK_COMPLETED_BATCH);
    const response = await request(await appFor()).post(`/api/v1/generation/batch/${BATCH_ID}/pause`).set("Authorization", `Bearer ${await tokenFor(BATCH_OWNER)}`);
    expect(response.status).toBe(409);
    expect(response.body).toEqual({
      data: null,
      error: {
        code: "INVALID_TRANSITION",
        message: "Cannot pause a batch that is completed",
        details: { batchId: BATCH_ID, currentStatus: "completed", action: "pause", allowedActions: [] },
      },
    });
  });

  it("answers 200 with the story's response envelope and records the reason", async () => {
    withBatch(MOCK_RUNNING_BATCH);
    const response = await request(await appFor())
      .post(`/api/v1/generation/batch/${BATCH_ID}/pause`)
      .set("Authorization", `Bearer ${await tokenFor(BATCH_OWNER)}`)
      .send({ reason: "Reviewing the first items" });
    expect(response.status).toBe(200);
    expect(response.body).toEqual({
      data: { batchId: BATCH_ID, previousStatus: "running", newStatus: "paused", action: "pause", timestamp: expect.any(String) },
      error: null,
    });
    expect(store.events[0]?.reason).toBe("Reviewing the first items");
  });

  it("400 for a reason over 500 characters or an unknown body field, with nothing written", async () => {
    withBatch(MOCK_RUNNING_BATCH);
    const app = await appFor();
    const token = await tokenFor(BATCH_OWNER);
    const long = await request(app).post(`/api/v1/generation/batch/${BATCH_ID}/pause`).set("Authorization", `Bearer ${token}`).send({ reason: "x".repeat(501) });
    expect(long.status).toBe(400);
    expect(long.body.error).toMatchObject({ code: "VALIDATION_ERROR", details: { field: "reason" } });
    const extra = await request(app).post(`/api/v1/generation/batch/${BATCH_ID}/pause`).set("Authorization", `Bearer ${token}`).send({ action: "cancel" });
    expect(extra.status).toBe(400);
    expect(store.batches.get(BATCH_ID)?.status).toBe("running");
    expect(store.events).toHaveLength(0);
  });
});
