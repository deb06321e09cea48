import {
  apiErrorSchema,
  batchControlBodySchema,
  batchControlResponseSchema,
  batchDetailSchema,
  batchHistorySchema,
  batchItemListSchema,
  batchListSchema,
  createBatchRequestSchema,
  envelopeSchema,
  errorEnvelopeSchema,
  ERROR_STATUS,
} from "@batchgen/types";
import { z } from "zod";

type Json = Record<string, unknown>;

const schema = (type: z.ZodType): Json => z.toJSONSchema(type, { target: "openapi-3.0", io: "input", unrepresentable: "any" });
const ref = (name: string) => ({ $ref: `#/components/schemas/${name}` });

const errorResponse = (description: string) => ({
  description,
  content: { "application/json": { schema: ref("ErrorEnvelope") } },
});

const ok = (description: string, name: string) => ({
  description,
  content: { "application/json": { schema: ref(name) } },
});

/** Set on an answer replayed for a repeated Idempotency-Key. */
const replayedHeader = {
  "Idempotent-Replayed": { description: "`true` when this is the first answer to the same Idempotency-Key, replayed", schema: { type: "string", enum: ["true"] } },
};

const batchIdParam = { name: "batchId", in: "path", required: true, schema: { type: "string", format: "uuid" }, description: "A malformed id answers 404." };
const paging = [
  { name: "limit", in: "query", schema: { type: "integer", minimum: 1, maximum: 200, default: 20 } },
  { name: "cursor", in: "query", schema: { type: "string" }, description: "nextCursor of the previous page" },
];
const idempotencyHeader = {
  name: "Idempotency-Key",
  in: "header",
  required: false,
  schema: { type: "string", minLength: 1, maxLength: 255, pattern: "^[\\x21-\\x7e]+$" },
  description:
    "1–255 visible ASCII characters (otherwise 400). A retry with the same key (same user, same batch) and the same request — the path's action and the reason — " +
    "within 24 h returns the first response with `Idempotent-Replayed: true`; the same key with another action or another reason is a 422 IDEMPOTENCY_CONFLICT (details: fields) and changes nothing.",
};

const createIdempotencyHeader = {
  name: "Idempotency-Key",
  in: "header",
  required: false,
  schema: { type: "string", minLength: 1, maxLength: 255, pattern: "^[\\x21-\\x7e]+$" },
  description:
    "1–255 visible ASCII characters (otherwise 400). A retry with the same key (same user) and the same request within 24 h returns the first 201 " +
    "(the same batch, as it was at creation) with `Idempotent-Replayed: true`; one batch however many retries, concurrent ones included (they wait for the first). " +
    "Requests are compared after validation: key order, whitespace around the topic and defaults sent explicitly do not make them different. " +
    "The same key with a different request is a 422 IDEMPOTENCY_CONFLICT (details: fields, batchId) and creates nothing.",
};

const common = {
  "401": errorResponse("UNAUTHORIZED: missing or invalid access token"),
  "403": errorResponse("FORBIDDEN: not faculty, or not the batch's owner"),
  "503": errorResponse("UNAVAILABLE: the database or the auth service is unreachable; nothing was written"),
};

function control(action: "pause" | "resume" | "cancel" | "retry_failed", summary: string) {
  return {
    post: {
      operationId: action === "retry_failed" ? "retryFailedItems" : `${action}Batch`,
      summary,
      tags: ["controls"],
      parameters: [batchIdParam, idempotencyHeader],
      requestBody: { required: false, content: { "application/json": { schema: ref("BatchControlBody") } } },
      responses: {
        "200": { ...ok(`The batch's status changed (story F-47 response)`, "BatchControlEnvelope"), headers: replayedHeader },
        "400": errorResponse("VALIDATION_ERROR: reason too long or not plain text, an action that is not this path's, unknown field, or malformed Idempotency-Key"),
        ...common,
        "404": errorResponse("NOT_FOUND: no such batch"),
        "409": errorResponse("INVALID_TRANSITION (details: currentStatus, action, allowedActions)"),
        "422": errorResponse("IDEMPOTENCY_CONFLICT: the Idempotency-Key was used on this batch for another action or reason (details: idempotencyKey, fields, originalAction, action)"),
      },
    },
  };
}

/** The API's contract, generated from the same zod schemas that validate requests. */
export function buildOpenApiDocument(serverUrl?: string): Json {
  return {
    openapi: "3.0.3",
    info: {
      title: "Question batches API",
      version: "1.0.0",
      description:
        "Batch generation of exam questions with pause, resume and cancel. Every response is the envelope `{ data, error }`; " +
        `error codes map to statuses as: ${Object.entries(ERROR_STATUS).map(([code, status]) => `${code} ${status}`).join(", ")}.`,
    },
    ...(serverUrl ? { servers: [{ url: serverUrl }] } : {}),
    security: [{ bearer: [] }],
    paths: {
      "/health": {
        get: {
          operationId: "health",
          summary: "Liveness, including the database",
          security: [],
          responses: { "200": { description: "Healthy" }, "503": errorResponse("The database is not reachable") },
        },
      },
      "/openapi.json": {
        get: { operationId: "openapi", summary: "This document", security: [], responses: { "200": { description: "OpenAPI 3.0 document" } } },
      },
      "/api/v1/me": {
        get: { operationId: "me", summary: "The caller as the API sees it", responses: { "200": { description: "The caller" }, "401": common["401"] } },
      },
      "/api/v1/generation/batch": {
        post: {
          operationId: "createBatch",
          summary: "Create a batch and start generating it",
          tags: ["batches"],
          parameters: [createIdempotencyHeader],
          requestBody: { required: true, content: { "application/json": { schema: ref("CreateBatchRequest") } } },
          responses: {
            "201": { ...ok("Created, running (or, with Idempotent-Replayed: true, the first answer to this Idempotency-Key)", "BatchDetailEnvelope"), headers: replayedHeader },
            "400": errorResponse("VALIDATION_ERROR naming the field, or a malformed Idempotency-Key"),
            ...common,
            "422": errorResponse("IDEMPOTENCY_CONFLICT: the Idempotency-Key was used for a different request (details: idempotencyKey, fields, batchId)"),
          },
        },
        get: {
          operationId: "listBatches",
          summary: "The caller's batches, newest first",
          tags: ["batches"],
          parameters: paging,
          responses: { "200": ok("A page of batches", "BatchListEnvelope"), "400": errorResponse("VALIDATION_ERROR: bad paging parameters, or an unknown query parameter"), ...common },
        },
      },
      "/api/v1/generation/batch/{batchId}": {
        get: {
          operationId: "getBatch",
          summary: "One batch with counts, in-flight items, ETA and allowed actions",
          tags: ["batches"],
          parameters: [batchIdParam],
          responses: { "200": ok("The batch", "BatchDetailEnvelope"), ...common, "404": errorResponse("NOT_FOUND") },
        },
      },
      "/api/v1/generation/batch/{batchId}/items": {
        get: {
          operationId: "listBatchItems",
          summary: "Items with their generated questions, by position",
          tags: ["batches"],
          parameters: [batchIdParam, ...paging, { name: "status", in: "query", schema: { type: "string", enum: ["pending", "generating", "completed", "failed", "cancelled"] } }],
          responses: { "200": ok("A page of items", "BatchItemListEnvelope"), "400": errorResponse("VALIDATION_ERROR: bad paging parameters or status, or an unknown query parameter"), ...common, "404": errorResponse("NOT_FOUND") },
        },
      },
      "/api/v1/generation/batch/{batchId}/history": {
        get: {
          operationId: "getBatchHistory",
          summary: "Control actions, newest first, with the actor's email",
          tags: ["controls"],
          parameters: [batchIdParam],
          responses: { "200": ok("The history", "BatchHistoryEnvelope"), ...common, "404": errorResponse("NOT_FOUND") },
        },
      },
      "/api/v1/generation/batch/{batchId}/stream": {
        get: {
          operationId: "streamBatch",
          summary: "Server-sent events: snapshot, then progress/item per change, end when terminal",
          tags: ["batches"],
          parameters: [batchIdParam],
          responses: { "200": { description: "text/event-stream", content: { "text/event-stream": { schema: { type: "string" } } } }, ...common, "404": errorResponse("NOT_FOUND") },
        },
      },
      "/api/v1/generation/batch/{batchId}/pause": control("pause", "Pause: nothing new starts; items in flight finish"),
      "/api/v1/generation/batch/{batchId}/resume": control("resume", "Resume where it stopped"),
      "/api/v1/generation/batch/{batchId}/cancel": control("cancel", "Cancel: pending items are dropped, in-flight items finish, completed items are kept"),
      "/api/v1/generation/batch/{batchId}/retry-failed": control(
        "retry_failed",
        "Retry the failed items of a completed_with_errors or failed batch: only they run again (fresh attempts, earlier errors kept in their attempt history); the batch is running again",
      ),
      "/api/v1/generation/batch/{batchId}/questions": {
        get: {
          operationId: "downloadQuestions",
          summary: "Every completed question (position, stem, five options, answer, explanation) as a JSON array or RFC 4180 CSV, streamed",
          tags: ["batches"],
          parameters: [batchIdParam, { name: "format", in: "query", schema: { type: "string", enum: ["json", "csv"], default: "json" } }],
          responses: {
            "200": {
              description: "An attachment (Content-Disposition) with the questions in position order",
              content: { "application/json": { schema: { type: "array", items: { type: "object" } } }, "text/csv": { schema: { type: "string" } } },
            },
            "400": errorResponse("VALIDATION_ERROR: format is not json or csv, or an unknown query parameter"),
            ...common,
            "404": errorResponse("NOT_FOUND"),
          },
        },
      },
    },
    components: {
      securitySchemes: { bearer: { type: "http", scheme: "bearer", bearerFormat: "Supabase access token (JWT)" } },
      schemas: {
        CreateBatchRequest: schema(createBatchRequestSchema),
        BatchControlBody: schema(batchControlBodySchema),
        BatchControlEnvelope: schema(envelopeSchema(batchControlResponseSchema)),
        BatchDetailEnvelope: schema(envelopeSchema(batchDetailSchema)),
        BatchListEnvelope: schema(envelopeSchema(batchListSchema)),
        BatchItemListEnvelope: schema(envelopeSchema(batchItemListSchema)),
        BatchHistoryEnvelope: schema(envelopeSchema(batchHistorySchema)),
        ApiError: schema(apiErrorSchema),
        ErrorEnvelope: schema(errorEnvelopeSchema),
      },
    },
  };
}
