import { randomUUID } from "node:crypto";
import request from "supertest";
import {
  afterAll,
  afterEach,
  beforeAll,
  describe,
  expect,
  it,
  vi,
} from "vitest";
import {
  ALLOWED_REQUEST_HEADERS,
  createAuthApp,
  createUser,
  generateSigningKey,
  ProductionRefusedError,
  signJwt,
  startAuthServer,
} from "../src/index.ts";
import type { SigningKey } from "../src/index.ts";
import { createTestTokens } from "../src/testing.ts";
import { API_VERSION, openTestDb } from "./support.ts";
import type { TestDb } from "./support.ts";

const SITE_URL = "http://127.0.0.1:54321";
let db: TestDb;
let key: SigningKey;
let app: ReturnType<typeof createAuthApp>;
const email = "http@msm.edu";
const password = "http-password";

beforeAll(async () => {
  db = await openTestDb();
  key = await generateSigningKey();
  app = createAuthApp({ pool: db.pool, signingKey: key, siteUrl: SITE_URL });
  await createUser(db.pool, { email, password, role: "student" });
});

afterAll(async () => {
  await db?.dispose();
});

async function signIn(): Promise<{
  access_token: string;
  refresh_token: string;
}> {
  const response = await request(app)
    .post("/auth/v1/token?grant_type=password")
    .send({ email, password })
    .expect(200);
  return response.body as { access_token: string; refresh_token: string };
}

describe("CORS", () => {
  it.each(["http://127.0.0.1:3000", "http://localhost:3000"])(
    "OPTIONS preflight from %s allows POST and every header supabase-js sends",
    async (origin) => {
      const response = await request(app)
        .options("/auth/v1/token?grant_type=password")
        .set("Origin", origin)
        .set("Access-Control-Request-Method", "POST")
        .set(
          "Access-Control-Request-Headers",
          "apikey, authorization, content-type, x-client-info, x-supabase-api-version",
        )
        .expect(204);
      expect(response.headers["access-control-allow-origin"]).toBe(origin);
      expect(response.headers["access-control-allow-credentials"]).toBe("true");
      expect(response.headers["access-control-allow-methods"]).toContain(
        "POST",
      );
      const allowed = String(
        response.headers["access-control-allow-headers"],
      ).split(", ");
      for (const header of [
        "apikey",
        "authorization",
        "content-type",
        "x-client-info",
        "x-supabase-api-version",
      ]) {
        expect(allowed).toContain(header);
      }
      expect(allowed).toEqual([...ALLOWED_REQUEST_HEADERS]);
      expect(response.headers.vary).toContain("Origin");
    },
  );

  it("responses to an allowed origin expose X-Supabase-Api-Version so supabase-js can read error codes", async () => {
    const response = await request(app)
      .post("/auth/v1/token?grant_type=password")
      .set("Origin", "http://localhost:3000")
      .set(API_VERSION)
      .send({ email, password: "wrong" })
      .expect(400);
    expect(response.headers["access-control-allow-origin"]).toBe(
      "http://localhost:3000",
    );
    expect(response.headers["access-control-expose-headers"]).toBe(
      "X-Supabase-Api-Version",
    );
    expect(response.headers["x-supabase-api-version"]).toBe("2024-01-01");
  });

  it("a foreign origin gets no CORS grant", async () => {
    const response = await request(app)
      .options("/auth/v1/token")
      .set("Origin", "http://evil.example")
      .set("Access-Control-Request-Method", "POST")
      .expect(204);
    expect(response.headers["access-control-allow-origin"]).toBeUndefined();
    expect(response.headers["access-control-allow-headers"]).toBeUndefined();
  });

  it("allowedOrigins replaces the defaults", async () => {
    const custom = createAuthApp({
      pool: db.pool,
      signingKey: key,
      siteUrl: SITE_URL,
      allowedOrigins: ["https://app.example"],
    });
    const allowed = await request(custom)
      .get("/auth/v1/.well-known/jwks.json")
      .set("Origin", "https://app.example");
    expect(allowed.headers["access-control-allow-origin"]).toBe(
      "https://app.example",
    );
    const dropped = await request(custom)
      .get("/auth/v1/.well-known/jwks.json")
      .set("Origin", "http://localhost:3000");
    expect(dropped.headers["access-control-allow-origin"]).toBeUndefined();
  });
});

describe("POST /token?grant_type=password — bad input is a 4xx, never a 500", () => {
  const cases: [string, () => request.Test, number, string][] = [
    [
      "malformed JSON",
      () =>
        request(app)
          .post("/auth/v1/token?grant_type=password")
          .set("content-type", "application/json")
          .send("{not json"),
      400,
      "bad_json",
    ],
    [
      "a JSON array",
      () =>
        request(app).post("/auth/v1/token?grant_type=password").send([1, 2]),
      400,
      "bad_json",
    ],
    [
      "a JSON string",
      () =>
        request(app)
          .post("/auth/v1/token?grant_type=password")
          .set("content-type", "application/json")
          .send('"x"'),
      400,
      "bad_json",
    ],
    // body-parser reads an empty body as {}, so this is the "missing email" case.
    [
      "no body at all",
      () => request(app).post("/auth/v1/token?grant_type=password"),
      400,
      "validation_failed",
    ],
    [
      "email of the wrong type",
      () =>
        request(app)
          .post("/auth/v1/token?grant_type=password")
          .send({ email: 5, password }),
      400,
      "bad_json",
    ],
    [
      "no email or phone",
      () =>
        request(app)
          .post("/auth/v1/token?grant_type=password")
          .send({ password }),
      400,
      "validation_failed",
    ],
    [
      "email and phone together",
      () =>
        request(app)
          .post("/auth/v1/token?grant_type=password")
          .send({ email, phone: "+15550001", password }),
      422,
      "validation_failed",
    ],
    [
      "a phone login",
      () =>
        request(app)
          .post("/auth/v1/token?grant_type=password")
          .send({ phone: "+15550001", password }),
      422,
      "phone_provider_disabled",
    ],
    [
      "no password",
      () =>
        request(app).post("/auth/v1/token?grant_type=password").send({ email }),
      400,
      "invalid_credentials",
    ],
    [
      "an unknown grant_type",
      () =>
        request(app)
          .post("/auth/v1/token?grant_type=magic")
          .send({ email, password }),
      400,
      "validation_failed",
    ],
    [
      "no grant_type",
      () => request(app).post("/auth/v1/token").send({ email, password }),
      400,
      "validation_failed",
    ],
    [
      "a body over 64 kB",
      () =>
        request(app)
          .post("/auth/v1/token?grant_type=password")
          .send({ email, password: "x".repeat(70_000) }),
      413,
      "request_too_large",
    ],
  ];

  it.each(cases)("%s", async (_name, send, status, code) => {
    const response = await send().set(API_VERSION);
    expect(response.status).toBe(status);
    expect(response.body.code).toBe(code);
    expect(typeof response.body.message).toBe("string");
  });

  it("without the API version header errors use GoTrue's legacy shape { code, error_code, msg }", async () => {
    const response = await request(app)
      .post("/auth/v1/token?grant_type=password")
      .send({ email, password: "nope" });
    expect(response.status).toBe(400);
    expect(response.headers["x-supabase-api-version"]).toBeUndefined();
    expect(response.body).toEqual({
      code: 400,
      error_code: "invalid_credentials",
      msg: "Invalid login credentials",
    });
  });

  it("email is matched case-insensitively", async () => {
    await request(app)
      .post("/auth/v1/token?grant_type=password")
      .send({ email: "HTTP@msm.edu", password })
      .expect(200);
  });

  it("an unconfirmed email is refused with email_not_confirmed", async () => {
    const unconfirmed = await createUser(db.pool, {
      email: "unconfirmed@msm.edu",
      password,
      role: "faculty",
    });
    await db.pool.query(
      "UPDATE auth.users SET email_confirmed_at = NULL WHERE id = $1",
      [unconfirmed.id],
    );
    const response = await request(app)
      .post("/auth/v1/token?grant_type=password")
      .set(API_VERSION)
      .send({ email: "unconfirmed@msm.edu", password });
    expect(response.status).toBe(400);
    expect(response.body.code).toBe("email_not_confirmed");
  });

  it("records last_sign_in_at", async () => {
    await signIn();
    const row = await db.pool.query(
      "SELECT last_sign_in_at FROM auth.users WHERE email = $1",
      [email],
    );
    expect(row.rows[0]?.last_sign_in_at).toBeInstanceOf(Date);
  });
});

describe("GET /user", () => {
  it("returns the user object for a valid token", async () => {
    const { access_token } = await signIn();
    const response = await request(app)
      .get("/auth/v1/user")
      .set("Authorization", `Bearer ${access_token}`)
      .expect(200);
    expect(response.body).toMatchObject({
      email,
      aud: "authenticated",
      role: "authenticated",
      phone: "",
      app_metadata: { role: "student" },
      is_anonymous: false,
    });
    expect(response.body).not.toHaveProperty("encrypted_password");
  });

  it("401 no_authorization without a bearer token", async () => {
    const response = await request(app)
      .get("/auth/v1/user")
      .set(API_VERSION)
      .expect(401);
    expect(response.body.code).toBe("no_authorization");
  });

  it("403 bad_jwt for garbage, alg:none, expired, foreign-key and HS256 tokens", async () => {
    const tokens = await createTestTokens({
      siteUrl: SITE_URL,
      signingKey: key,
    });
    const someone = { id: randomUUID(), email, role: "student" };
    const bad = [
      "garbage",
      tokens.algNone(someone),
      await tokens.expired(someone),
      await tokens.wrongKey(someone),
      await tokens.hs256(someone, "secret"),
    ];
    for (const token of bad) {
      const response = await request(app)
        .get("/auth/v1/user")
        .set(API_VERSION)
        .set("Authorization", `Bearer ${token}`);
      expect(response.status).toBe(403);
      expect(response.body.code).toBe("bad_jwt");
    }
  });

  it("a well-signed token naming an unknown user is 403 user_not_found; a non-UUID sub is 400", async () => {
    const unknown = await signJwt(key, {
      sub: randomUUID(),
      exp: Math.floor(Date.now() / 1000) + 60,
    });
    const response = await request(app)
      .get("/auth/v1/user")
      .set(API_VERSION)
      .set("Authorization", `Bearer ${unknown}`);
    expect(response.status).toBe(403);
    expect(response.body.code).toBe("user_not_found");

    const notUuid = await signJwt(key, {
      sub: "faculty-uuid-1",
      exp: Math.floor(Date.now() / 1000) + 60,
    });
    const second = await request(app)
      .get("/auth/v1/user")
      .set(API_VERSION)
      .set("Authorization", `Bearer ${notUuid}`);
    expect(second.status).toBe(400);
    expect(second.body.code).toBe("bad_jwt");
  });
});

describe("POST /logout", () => {
  it("scope=local ends only this session", async () => {
    const a = await signIn();
    const b = await signIn();
    await request(app)
      .post("/auth/v1/logout?scope=local")
      .set("Authorization", `Bearer ${a.access_token}`)
      .expect(204);
    const gone = await request(app)
      .get("/auth/v1/user")
      .set(API_VERSION)
      .set("Authorization", `Bearer ${a.access_token}`);
    expect(gone.status).toBe(403);
    expect(gone.body.code).toBe("session_not_found");
    await request(app)
      .get("/auth/v1/user")
      .set("Authorization", `Bearer ${b.access_token}`)
      .expect(200);
  });

  it("the default (global) scope ends every session of the user", async () => {
    const a = await signIn();
    const b = await signIn();
    await request(app)
      .post("/auth/v1/logout")
      .set("Authorization", `Bearer ${a.access_token}`)
      .expect(204);
    await request(app)
      .get("/auth/v1/user")
      .set("Authorization", `Bearer ${b.access_token}`)
      .expect(403);
    const refreshed = await request(app)
      .post("/auth/v1/token?grant_type=refresh_token")
      .set(API_VERSION)
      .send({ refresh_token: b.refresh_token });
    expect(refreshed.body.code).toBe("refresh_token_not_found");
  });

  it("an unsupported scope is 400 validation_failed", async () => {
    const { access_token } = await signIn();
    const response = await request(app)
      .post("/auth/v1/logout?scope=everyone")
      .set(API_VERSION)
      .set("Authorization", `Bearer ${access_token}`);
    expect(response.status).toBe(400);
    expect(response.body.code).toBe("validation_failed");
  });
});

describe("everything else", () => {
  it("unknown paths are JSON 404s", async () => {
    const inside = await request(app)
      .get("/auth/v1/nope")
      .set(API_VERSION)
      .expect(404);
    expect(inside.body.code).toBe("not_found");
    await request(app).get("/rest/v1/things").expect(404);
  });

  it("GET /health answers once the database does", async () => {
    const response = await request(app).get("/auth/v1/health").expect(200);
    expect(response.body.name).toBe("GoTrue");
  });
});

describe("production refusal", () => {
  afterEach(() => {
    vi.unstubAllEnvs();
  });

  it("createAuthApp and startAuthServer throw when NODE_ENV=production", async () => {
    vi.stubEnv("NODE_ENV", "production");
    expect(() =>
      createAuthApp({ pool: db.pool, signingKey: key, siteUrl: SITE_URL }),
    ).toThrow(ProductionRefusedError);
    expect(() =>
      createAuthApp({ pool: db.pool, signingKey: key, siteUrl: SITE_URL }),
    ).toThrow(/NODE_ENV=production/);
    await expect(
      startAuthServer({ pool: db.pool, signingKey: key }),
    ).rejects.toBeInstanceOf(ProductionRefusedError);
  });
});
