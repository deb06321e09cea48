import { randomUUID } from "node:crypto";
import { createServer, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { createPool, type Pool } from "@batchgen/db";
import type { Express } from "express";
import { exportJWK, generateKeyPair, SignJWT, type JWK } from "jose";
import { pino } from "pino";
import request from "supertest";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createApp } from "../src/app.ts";
import { createTokenVerifier } from "../src/auth/token-verifier.ts";
import { supabaseClaims } from "./support/keys.ts";

type Mode = "ok" | "error" | "hang" | "html" | "not-a-key-set" | "broken-key";

let mode: Mode = "ok";
let jwksServer: Server;
let supabaseUrl: string;
let privateKey: Awaited<ReturnType<typeof generateKeyPair>>["privateKey"];
let jwk: JWK;
const kid = randomUUID();
const hanging = new Set<ServerResponse>();
// Never queried: /api/v1/me does not touch the database.
let pool: Pool;

beforeAll(async () => {
  const pair = await generateKeyPair("ES256", { extractable: true });
  privateKey = pair.privateKey;
  jwk = { ...(await exportJWK(pair.publicKey)), kid, alg: "ES256", use: "sig" };
  jwksServer = createServer((req, res) => {
    if (req.url !== "/auth/v1/.well-known/jwks.json") return void res.writeHead(404).end();
    switch (mode) {
      case "ok":
        return void res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify({ keys: [jwk] }));
      case "error":
        return void res.writeHead(502, { "content-type": "text/html" }).end("<h1>Bad gateway</h1>");
      case "hang":
        hanging.add(res);
        return;
      case "html":
        return void res.writeHead(200, { "content-type": "text/html" }).end("<html>maintenance</html>");
      case "not-a-key-set":
        return void res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify({ keys: "none today" }));
      case "broken-key":
        return void res
          .writeHead(200, { "content-type": "application/json" })
          .end(JSON.stringify({ keys: [{ kty: "EC", crv: "P-256", kid, alg: "ES256", x: "%%%", y: "not base64url" }] }));
    }
  });
  await new Promise<void>((resolve) => jwksServer.listen(0, "127.0.0.1", resolve));
  supabaseUrl = `http://127.0.0.1:${(jwksServer.address() as AddressInfo).port}`;
  pool = createPool("postgres://nobody@127.0.0.1:1/none", { max: 1 });
});

afterAll(async () => {
  for (const res of hanging) res.destroy();
  jwksServer.closeAllConnections();
  await new Promise((resolve) => jwksServer.close(resolve));
  await pool.end();
});

/** A fresh app each time: the verifier caches a key set it fetched successfully. */
function appFetchingJwks(): Express {
  return createApp({
    pool,
    logger: pino({ level: "silent" }),
    verifyToken: createTokenVerifier({ supabaseUrl, jwksTimeoutMs: 300 }),
    logRequests: false,
  });
}

function sign(claims: Record<string, unknown>, header: Record<string, unknown> = { alg: "ES256", kid, typ: "JWT" }) {
  return new SignJWT(claims)
    .setProtectedHeader(header as { alg: string })
    .setIssuer(`${supabaseUrl}/auth/v1`)
    .setAudience("authenticated")
    .setIssuedAt()
    .setExpirationTime("1h")
    .sign(privateKey);
}

const faculty = () => supabaseClaims({ sub: randomUUID(), email: "dr.jones@msm.edu", role: "faculty", institutionId: randomUUID() });

describe("the auth service's keys are unavailable: an outage (503), not a sign-out (401)", () => {
  it("the JWKS endpoint answering with its keys: 200 (the control case)", async () => {
    mode = "ok";
    const response = await request(appFetchingJwks()).get("/api/v1/me").set("Authorization", `Bearer ${await sign(faculty())}`);
    expect(response.status).toBe(200);
  });

  it.each<[Mode, string]>([
    ["error", "answers 502"],
    ["hang", "does not answer in time"],
    ["html", "answers HTML instead of JSON"],
    ["not-a-key-set", "answers JSON that is not a key set"],
    ["broken-key", "answers a key set whose key cannot be imported"],
  ])("JWKS endpoint %s (%s): a valid token gets 503 UNAVAILABLE with Retry-After", async (which) => {
    mode = which;
    const response = await request(appFetchingJwks()).get("/api/v1/me").set("Authorization", `Bearer ${await sign(faculty())}`);
    expect(response.status).toBe(503);
    expect(response.headers["retry-after"]).toBe("5");
    expect(response.body).toEqual({ data: null, error: { code: "UNAVAILABLE", message: expect.stringMatching(/auth service/) } });
  });

  it("a token whose key id is unknown while the key set loads fine is still 401", async () => {
    mode = "ok";
    const response = await request(appFetchingJwks())
      .get("/api/v1/me")
      .set("Authorization", `Bearer ${await sign(faculty(), { alg: "ES256", kid: randomUUID() })}`);
    expect(response.status).toBe(401);
    expect(response.body.error.code).toBe("UNAUTHORIZED");
  });
});

describe("tokens that are not well-formed are 401 even while the keys are unavailable", () => {
  const b64 = (text: string) => Buffer.from(text).toString("base64url");
  const payload = b64(JSON.stringify({ sub: randomUUID(), exp: Math.floor(Date.now() / 1000) + 3600 }));

  it.each(["null", "[]", "123", '"ES256"', "true", "{"])("a protected header that is %s (not a JSON object) is 401", async (header) => {
    mode = "error";
    const response = await request(appFetchingJwks()).get("/api/v1/me").set("Authorization", `Bearer ${b64(header)}.${payload}.c2ln`);
    expect(response.status).toBe(401);
    expect(response.body).toEqual({ data: null, error: { code: "UNAUTHORIZED", message: "Access token is malformed" } });
  });
});

describe("claims that name no user of ours", () => {
  it.each(["", "not-a-uuid", "00000000-0000-0000-0000-00000000000g", "\u0000"])("a subject %j is 401", async (sub) => {
    mode = "ok";
    const response = await request(appFetchingJwks()).get("/api/v1/me").set("Authorization", `Bearer ${await sign({ ...faculty(), sub })}`);
    expect(response.status).toBe(401);
    expect(response.body.error.message).toMatch(/subject/);
  });

  it.each<[string, unknown]>([
    ["an institution that is not a UUID", { role: "faculty", institution_id: "msm\u0000" }],
    ["a number as institution", { role: "faculty", institution_id: 42 }],
    ["app_metadata as a string", "faculty"],
    ["app_metadata null", null],
    ["app_metadata an array", ["faculty"]],
  ])("odd app_metadata (%s) gives no institution and never a role it does not name", async (_what, appMetadata) => {
    mode = "ok";
    const response = await request(appFetchingJwks())
      .get("/api/v1/me")
      .set("Authorization", `Bearer ${await sign({ ...faculty(), app_metadata: appMetadata })}`);
    expect(response.status).toBe(200);
    expect(response.body.data.institution_id).toBeNull();
    expect(response.body.data.role).toBe(typeof appMetadata === "object" && appMetadata !== null && !Array.isArray(appMetadata) ? "faculty" : null);
  });
});
