import { randomUUID } from "node:crypto";
import { exportJWK, generateKeyPair, SignJWT } from "jose";
import request from "supertest";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { supabaseClaims, TEST_ISSUER } from "./support/keys.ts";
import { createTestApp, type TestApp } from "./support/app.ts";

let t: TestApp;
const faculty = { sub: randomUUID(), email: "dr.jones@msm.edu", role: "faculty", institutionId: randomUUID() };

beforeAll(async () => {
  t = await createTestApp();
});
afterAll(async () => {
  await t.close();
});

function expectUnauthorized(response: request.Response, message: RegExp) {
  expect(response.status).toBe(401);
  expect(response.body).toEqual({ data: null, error: { code: "UNAUTHORIZED", message: expect.stringMatching(message) } });
}

describe("GET /api/v1/me — authentication", () => {
  it("200 with the caller from a valid Supabase access token (role and institution from app_metadata)", async () => {
    const token = await t.signer.sign(supabaseClaims(faculty));
    const response = await request(t.app).get("/api/v1/me").set("Authorization", `Bearer ${token}`);
    expect(response.status).toBe(200);
    expect(response.body).toEqual({
      data: { sub: faculty.sub, email: faculty.email, role: "faculty", institution_id: faculty.institutionId },
      error: null,
    });
  });

  it("ignores a role a user wrote into user_metadata", async () => {
    const claims = { ...supabaseClaims({ ...faculty, role: undefined }), user_metadata: { role: "faculty" } };
    const token = await t.signer.sign(claims);
    const response = await request(t.app).get("/api/v1/me").set("Authorization", `Bearer ${token}`);
    expect(response.body.data.role).toBeNull();
  });

  it("401 without an Authorization header", async () => {
    expectUnauthorized(await request(t.app).get("/api/v1/me"), /Missing Authorization/);
  });

  it("401 for a header that is not a Bearer token", async () => {
    expectUnauthorized(await request(t.app).get("/api/v1/me").set("Authorization", "Basic abc"), /Bearer/);
  });

  it("401 for a malformed token", async () => {
    expectUnauthorized(await request(t.app).get("/api/v1/me").set("Authorization", "Bearer not.a.jwt"), /malformed/);
  });

  it("401 for a truncated token", async () => {
    const token = await t.signer.sign(supabaseClaims(faculty));
    const truncated = token.slice(0, token.length - 10);
    expectUnauthorized(await request(t.app).get("/api/v1/me").set("Authorization", `Bearer ${truncated}`), /signature|malformed/);
  });

  it("401 for an expired token", async () => {
    const token = await t.signer.sign(supabaseClaims(faculty), { expiresIn: Math.floor(Date.now() / 1000) - 60 });
    expectUnauthorized(await request(t.app).get("/api/v1/me").set("Authorization", `Bearer ${token}`), /expired/);
  });

  it("401 for a token signed by another key with the same kid shape", async () => {
    const { privateKey, publicKey } = await generateKeyPair("ES256", { extractable: true });
    const kid = (await exportJWK(publicKey)).x;
    const token = await new SignJWT(supabaseClaims(faculty))
      .setProtectedHeader({ alg: "ES256", kid })
      .setIssuer(TEST_ISSUER)
      .setAudience("authenticated")
      .setIssuedAt()
      .setExpirationTime("1h")
      .sign(privateKey);
    expectUnauthorized(await request(t.app).get("/api/v1/me").set("Authorization", `Bearer ${token}`), /unknown key|signature/);
  });

  it("401 for a wrong issuer", async () => {
    const token = await t.signer.sign(supabaseClaims(faculty), { issuer: "https://evil.example/auth/v1" });
    expectUnauthorized(await request(t.app).get("/api/v1/me").set("Authorization", `Bearer ${token}`), /iss/);
  });

  it("401 for a wrong audience", async () => {
    const token = await t.signer.sign(supabaseClaims(faculty), { audience: "anon" });
    expectUnauthorized(await request(t.app).get("/api/v1/me").set("Authorization", `Bearer ${token}`), /aud/);
  });

  it("401 for alg: none", async () => {
    const header = Buffer.from(JSON.stringify({ alg: "none", typ: "JWT" })).toString("base64url");
    const now = Math.floor(Date.now() / 1000);
    const payload = Buffer.from(
      JSON.stringify({ ...supabaseClaims(faculty), iss: TEST_ISSUER, aud: "authenticated", iat: now, exp: now + 3600 }),
    ).toString("base64url");
    expectUnauthorized(await request(t.app).get("/api/v1/me").set("Authorization", `Bearer ${header}.${payload}.`), /algorithm|malformed/);
  });

  it("401 for an HS256 token when no legacy secret is configured", async () => {
    const token = await new SignJWT(supabaseClaims(faculty))
      .setProtectedHeader({ alg: "HS256" })
      .setIssuer(TEST_ISSUER)
      .setAudience("authenticated")
      .setExpirationTime("1h")
      .sign(new TextEncoder().encode("x".repeat(40)));
    expectUnauthorized(await request(t.app).get("/api/v1/me").set("Authorization", `Bearer ${token}`), /algorithm|key/);
  });
});

describe("platform behaviour", () => {
  it("GET /health reports the database", async () => {
    const response = await request(t.app).get("/health");
    expect(response.status).toBe(200);
    expect(response.body.data).toMatchObject({ status: "ok", database: { status: "ok" } });
  });

  it("an unknown route is a 404 in the envelope", async () => {
    const response = await request(t.app).get("/api/v1/nope").set("Authorization", `Bearer ${await t.signer.sign(supabaseClaims(faculty))}`);
    expect(response.status).toBe(404);
    expect(response.body.error.code).toBe("NOT_FOUND");
  });

  it("malformed JSON is a 400 VALIDATION_ERROR, not a 500", async () => {
    const response = await request(t.app).post("/api/v1/me").set("Content-Type", "application/json").send("{not json");
    expect(response.status).toBe(400);
    expect(response.body).toEqual({ data: null, error: { code: "VALIDATION_ERROR", message: "Request body is not valid JSON" } });
  });

  it("a body over the limit is a 413", async () => {
    const response = await request(t.app)
      .post("/api/v1/me")
      .set("Content-Type", "application/json")
      .send(JSON.stringify({ x: "y".repeat(200_000) }));
    expect(response.status).toBe(413);
    expect(response.body.error.code).toBe("PAYLOAD_TOO_LARGE");
  });

  it("echoes a request id, or makes one", async () => {
    const given = await request(t.app).get("/health").set("X-Request-Id", "abc-123");
    expect(given.headers["x-request-id"]).toBe("abc-123");
    const made = await request(t.app).get("/health").set("X-Request-Id", "bad id with spaces");
    expect(made.headers["x-request-id"]).toMatch(/^[0-9a-f-]{36}$/);
  });

  it("answers CORS preflight for the web origin only", async () => {
    const ok = await request(t.app).options("/api/v1/me").set("Origin", "http://127.0.0.1:3000").set("Access-Control-Request-Method", "GET");
    expect(ok.status).toBe(204);
    expect(ok.headers["access-control-allow-origin"]).toBe("http://127.0.0.1:3000");
    expect(ok.headers["access-control-allow-headers"]).toMatch(/Idempotency-Key/);
    const other = await request(t.app).get("/health").set("Origin", "https://evil.example");
    expect(other.headers["access-control-allow-origin"]).toBeUndefined();
  });
});
