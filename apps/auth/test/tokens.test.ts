import { mkdtemp, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import {
  createLocalJWKSet,
  createRemoteJWKSet,
  decodeJwt,
  decodeProtectedHeader,
  errors,
  jwtVerify,
} from "jose";
import request from "supertest";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  createAuthApp,
  createUser,
  DEMO_INSTITUTION_ID,
  generateSigningKey,
  loadOrCreateSigningKey,
  SIGNING_KEY_FILE,
  startAuthServer,
} from "../src/index.ts";
import type { SigningKey } from "../src/index.ts";
import { createTestTokens, startTestIssuer } from "../src/testing.ts";
import { openTestDb } from "./support.ts";
import type { TestDb } from "./support.ts";

const SITE_URL = "http://127.0.0.1:54321";
const ISSUER = `${SITE_URL}/auth/v1`;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

let db: TestDb;
let key: SigningKey;
let userId: string;
const email = "claims@msm.edu";
const password = "claims-password";

beforeAll(async () => {
  db = await openTestDb();
  key = await generateSigningKey();
  userId = (
    await createUser(db.pool, {
      email,
      password,
      role: "faculty",
      userMetadata: { full_name: "Dr. Claims" },
    })
  ).id;
});

afterAll(async () => {
  await db?.dispose();
});

async function signIn(app: ReturnType<typeof createAuthApp>) {
  const response = await request(app)
    .post("/auth/v1/token?grant_type=password")
    .send({ email, password })
    .expect(200);
  return response.body as {
    access_token: string;
    expires_in: number;
    expires_at: number;
    refresh_token: string;
  };
}

describe("access token shape", () => {
  it("carries Supabase's claims, ES256 and the JWKS kid", async () => {
    const app = createAuthApp({
      pool: db.pool,
      signingKey: key,
      siteUrl: SITE_URL,
    });
    const body = await signIn(app);
    const header = decodeProtectedHeader(body.access_token);
    expect(header).toEqual({ alg: "ES256", kid: key.kid, typ: "JWT" });

    const claims = decodeJwt(body.access_token);
    expect(Object.keys(claims).sort()).toEqual(
      [
        "aal",
        "amr",
        "app_metadata",
        "aud",
        "email",
        "exp",
        "iat",
        "is_anonymous",
        "iss",
        "phone",
        "role",
        "session_id",
        "sub",
        "user_metadata",
      ].sort(),
    );
    expect(claims).toMatchObject({
      sub: userId,
      email,
      phone: "",
      role: "authenticated",
      aud: "authenticated",
      iss: ISSUER,
      aal: "aal1",
      is_anonymous: false,
      app_metadata: {
        provider: "email",
        providers: ["email"],
        role: "faculty",
        institution_id: DEMO_INSTITUTION_ID,
      },
      user_metadata: { full_name: "Dr. Claims", email_verified: true },
    });
    expect(claims.exp! - claims.iat!).toBe(3600);
    expect(body.expires_in).toBe(3600);
    expect(body.expires_at).toBe(claims.exp);
    expect(claims.amr).toEqual([
      { method: "password", timestamp: expect.any(Number) },
    ]);
    expect(claims.session_id).toMatch(UUID);
    const session = await db.pool.query(
      "SELECT user_id FROM auth.sessions WHERE id = $1",
      [claims.session_id],
    );
    expect(session.rows[0]?.user_id).toBe(userId);
  });

  it("verifies against the served JWKS with issuer and audience pinned, as the API does", async () => {
    const app = createAuthApp({
      pool: db.pool,
      signingKey: key,
      siteUrl: SITE_URL,
    });
    const { access_token } = await signIn(app);
    const jwks = await request(app)
      .get("/auth/v1/.well-known/jwks.json")
      .expect(200);
    expect(jwks.headers["cache-control"]).toContain("max-age");
    expect(jwks.body.keys).toHaveLength(1);
    expect(jwks.body.keys[0]).toMatchObject({
      kty: "EC",
      crv: "P-256",
      alg: "ES256",
      kid: key.kid,
      use: "sig",
    });
    expect(jwks.body.keys[0]).not.toHaveProperty("d");
    const { payload } = await jwtVerify(
      access_token,
      createLocalJWKSet(jwks.body),
      {
        issuer: ISSUER,
        audience: "authenticated",
        algorithms: ["ES256"],
      },
    );
    expect(payload.sub).toBe(userId);
  });

  it("copies app_metadata whole from the user row, like GoTrue, and is never cached", async () => {
    const extra = await createUser(db.pool, {
      email: "extra@msm.edu",
      password,
      role: "student",
      institutionId: null,
    });
    await db.pool.query(
      `UPDATE auth.users SET raw_app_meta_data = raw_app_meta_data || '{"department":"anatomy"}'::jsonb WHERE id = $1`,
      [extra.id],
    );
    const app = createAuthApp({
      pool: db.pool,
      signingKey: key,
      siteUrl: SITE_URL,
    });
    const response = await request(app)
      .post("/auth/v1/token?grant_type=password")
      .send({ email: "extra@msm.edu", password })
      .expect(200);
    expect(response.headers["cache-control"]).toBe("no-store");
    expect(decodeJwt(response.body.access_token).app_metadata).toEqual({
      provider: "email",
      providers: ["email"],
      role: "student",
      institution_id: null,
      department: "anatomy",
    });
  });

  it("honours a configured lifetime and a site URL with a trailing slash", async () => {
    const app = createAuthApp({
      pool: db.pool,
      signingKey: key,
      siteUrl: `${SITE_URL}/`,
      accessTokenTtlSeconds: 120,
    });
    const body = await signIn(app);
    const claims = decodeJwt(body.access_token);
    expect(claims.exp! - claims.iat!).toBe(120);
    expect(body.expires_in).toBe(120);
    expect(claims.iss).toBe(ISSUER);
  });
});

describe("signing key persistence", () => {
  let keyDir: string;

  beforeAll(async () => {
    keyDir = await mkdtemp(path.join(tmpdir(), "batchgen-auth-keys-"));
  });

  afterAll(async () => {
    await rm(keyDir, { recursive: true, force: true });
  });

  it("creates the key once, private to the owner, and reloads the same key", async () => {
    const first = await loadOrCreateSigningKey(keyDir);
    const second = await loadOrCreateSigningKey(keyDir);
    expect(second.kid).toBe(first.kid);
    expect(second.publicJwk).toEqual(first.publicJwk);
    const mode = (await stat(path.join(keyDir, SIGNING_KEY_FILE))).mode & 0o777;
    expect(mode).toBe(0o600);
  });

  it("a token issued before a restart still verifies after it", async () => {
    const before = await startAuthServer({
      pool: db.pool,
      keyDir,
      siteUrl: SITE_URL,
    });
    const signedIn = await fetch(
      `${before.url}/auth/v1/token?grant_type=password`,
      {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ email, password }),
      },
    );
    const { access_token } = (await signedIn.json()) as {
      access_token: string;
    };
    await before.close();

    const after = await startAuthServer({
      pool: db.pool,
      keyDir,
      siteUrl: SITE_URL,
    });
    try {
      expect(after.signingKey.kid).toBe(before.signingKey.kid);
      const { payload } = await jwtVerify(
        access_token,
        createRemoteJWKSet(new URL(after.jwksUrl)),
        {
          issuer: ISSUER,
          audience: "authenticated",
        },
      );
      expect(payload.sub).toBe(userId);
      const user = await fetch(`${after.url}/auth/v1/user`, {
        headers: { authorization: `Bearer ${access_token}` },
      });
      expect(user.status).toBe(200);
    } finally {
      await after.close();
    }
  });

  it("startAuthServer reports its url, issuer and JWKS url", async () => {
    const server = await startAuthServer({ pool: db.pool, signingKey: key });
    try {
      expect(server.url).toBe(`http://127.0.0.1:${server.port}`);
      expect(server.issuer).toBe(`${server.url}/auth/v1`);
      expect(server.jwksUrl).toBe(
        `${server.url}/auth/v1/.well-known/jwks.json`,
      );
      const jwks = (await (await fetch(server.jwksUrl)).json()) as {
        keys: { kid: string }[];
      };
      expect(jwks.keys[0]?.kid).toBe(key.kid);
    } finally {
      await server.close();
    }
  });
});

describe("test-token helpers (src/testing.ts)", () => {
  const user = {
    id: "3f2a1c9e-8b7d-4e6f-9a5b-1c2d3e4f5a6b",
    email: "t@msm.edu",
    role: "faculty",
  };
  const verifyOptions = {
    issuer: ISSUER,
    audience: "authenticated",
    algorithms: ["ES256"],
  };

  it("valid tokens verify; every broken variant is refused for its own reason", async () => {
    const tokens = await createTestTokens({ siteUrl: SITE_URL });
    const jwks = createLocalJWKSet(tokens.jwks);

    const { payload, protectedHeader } = await jwtVerify(
      await tokens.valid(user),
      jwks,
      verifyOptions,
    );
    expect(protectedHeader.kid).toBe(tokens.signingKey.kid);
    expect(payload).toMatchObject({
      sub: user.id,
      email: user.email,
      role: "authenticated",
      app_metadata: { role: "faculty", institution_id: DEMO_INSTITUTION_ID },
    });

    await expect(
      jwtVerify(await tokens.expired(user), jwks, verifyOptions),
    ).rejects.toBeInstanceOf(errors.JWTExpired);
    await expect(
      jwtVerify(await tokens.wrongKey(user), jwks, verifyOptions),
    ).rejects.toBeInstanceOf(errors.JWSSignatureVerificationFailed);
    await expect(
      jwtVerify(await tokens.wrongIssuer(user), jwks, verifyOptions),
    ).rejects.toMatchObject({
      code: "ERR_JWT_CLAIM_VALIDATION_FAILED",
      claim: "iss",
    });
    await expect(
      jwtVerify(await tokens.wrongAudience(user), jwks, verifyOptions),
    ).rejects.toMatchObject({
      code: "ERR_JWT_CLAIM_VALIDATION_FAILED",
      claim: "aud",
    });
    expect(decodeProtectedHeader(tokens.algNone(user)).alg).toBe("none");
    await expect(
      jwtVerify(tokens.algNone(user), jwks, verifyOptions),
    ).rejects.toThrow();
    await expect(
      jwtVerify(await tokens.hs256(user, "legacy-secret"), jwks, verifyOptions),
    ).rejects.toThrow();
    const hs = await jwtVerify(
      await tokens.hs256(user, "legacy-secret"),
      new TextEncoder().encode("legacy-secret"),
      {
        issuer: ISSUER,
        audience: "authenticated",
      },
    );
    expect(hs.payload.sub).toBe(user.id);
  });

  it("overrides replace claims, e.g. a student's app_metadata", async () => {
    const tokens = await createTestTokens({ siteUrl: SITE_URL });
    const token = await tokens.valid(user, {
      app_metadata: {
        provider: "email",
        providers: ["email"],
        role: "student",
        institution_id: null,
      },
    });
    expect(decodeJwt(token).app_metadata).toMatchObject({
      role: "student",
      institution_id: null,
    });
  });

  it("startTestIssuer serves a JWKS at <url>/auth/v1/.well-known/jwks.json for its tokens", async () => {
    const issuer = await startTestIssuer();
    try {
      expect(issuer.jwksUrl).toBe(
        `${issuer.url}/auth/v1/.well-known/jwks.json`,
      );
      const { payload } = await jwtVerify(
        await issuer.tokens.valid(user),
        createRemoteJWKSet(new URL(issuer.jwksUrl)),
        { issuer: issuer.issuer, audience: "authenticated" },
      );
      expect(payload.iss).toBe(`${issuer.url}/auth/v1`);
    } finally {
      await issuer.close();
    }
  });
});
