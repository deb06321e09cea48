import { randomUUID } from "node:crypto";
import express from "express";
import request from "supertest";
import { pino } from "pino";
import { describe, expect, it } from "vitest";
import { createTokenVerifier } from "../src/auth/token-verifier.ts";
import { requireAuth } from "../src/middleware/auth.middleware.ts";
import { createErrorMiddleware } from "../src/middleware/error.middleware.ts";
import { requireRole } from "../src/middleware/rbac.middleware.ts";
import { createTestSigner, supabaseClaims, TEST_SUPABASE_URL } from "./support/keys.ts";

describe("requireRole", () => {
  it("lets faculty through and answers 403 FORBIDDEN for a student or a user without a role", async () => {
    const signer = await createTestSigner();
    const app = express();
    app.get(
      "/faculty-only",
      requireAuth(createTokenVerifier({ supabaseUrl: TEST_SUPABASE_URL, keyResolver: signer.keyResolver })),
      requireRole("faculty"),
      (_req, res) => void res.json({ data: "ok", error: null }),
    );
    app.use(createErrorMiddleware(pino({ level: "silent" })));
    const as = async (role: string | undefined) =>
      request(app)
        .get("/faculty-only")
        .set("Authorization", `Bearer ${await signer.sign(supabaseClaims({ sub: randomUUID(), email: "x@msm.edu", role }))}`);

    expect((await as("faculty")).status).toBe(200);
    const student = await as("student");
    expect(student.status).toBe(403);
    expect(student.body).toEqual({ data: null, error: { code: "FORBIDDEN", message: "This action requires the faculty role" } });
    expect((await as(undefined)).status).toBe(403);
    expect((await as("superuser")).status).toBe(403);
  });
});
