import { decodeJwt } from "jose";
import request from "supertest";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createAuthApp, createUser, generateSigningKey } from "../src/index.ts";
import type { SigningKey } from "../src/index.ts";
import { API_VERSION, openTestDb } from "./support.ts";
import type { TestDb } from "./support.ts";

let db: TestDb;
let key: SigningKey;
const email = "refresh@msm.edu";
const password = "refresh-password";

beforeAll(async () => {
  db = await openTestDb();
  key = await generateSigningKey();
  await createUser(db.pool, { email, password, role: "faculty" });
});

afterAll(async () => {
  await db?.dispose();
});

/** Strict reuse detection: no grace period after a token is rotated. */
function strictApp() {
  return createAuthApp({
    pool: db.pool,
    signingKey: key,
    siteUrl: "http://127.0.0.1:54321",
    refreshTokenReuseIntervalSeconds: 0,
  });
}

interface TokenBody {
  access_token: string;
  refresh_token: string;
  user: { id: string };
}

async function signIn(
  app: ReturnType<typeof createAuthApp>,
): Promise<TokenBody> {
  const response = await request(app)
    .post("/auth/v1/token?grant_type=password")
    .send({ email, password })
    .expect(200);
  return response.body as TokenBody;
}

function refresh(app: ReturnType<typeof createAuthApp>, refreshToken: string) {
  return request(app)
    .post("/auth/v1/token?grant_type=refresh_token")
    .set(API_VERSION)
    .send({ refresh_token: refreshToken });
}

describe("POST /token?grant_type=refresh_token", () => {
  it("rotates: the old token is revoked and the new one is its child in the same session", async () => {
    const app = strictApp();
    const first = await signIn(app);
    const response = await refresh(app, first.refresh_token).expect(200);
    const second = response.body as TokenBody;
    expect(second.refresh_token).not.toBe(first.refresh_token);
    expect(second.user.id).toBe(first.user.id);

    const rows = await db.pool.query<{
      token: string;
      revoked: boolean;
      parent: string | null;
      session_id: string;
    }>(
      "SELECT token, revoked, parent, session_id FROM auth.refresh_tokens WHERE token = ANY($1) ORDER BY id",
      [[first.refresh_token, second.refresh_token]],
    );
    expect(rows.rows).toEqual([
      {
        token: first.refresh_token,
        revoked: true,
        parent: null,
        session_id: expect.any(String),
      },
      {
        token: second.refresh_token,
        revoked: false,
        parent: first.refresh_token,
        session_id: rows.rows[0]?.session_id,
      },
    ]);

    const before = decodeJwt(first.access_token);
    const after = decodeJwt(second.access_token);
    expect(after.session_id).toBe(before.session_id);
    expect(after.amr).toEqual(before.amr);
  });

  it("reusing a revoked token fails with refresh_token_already_used and revokes the whole family", async () => {
    const app = strictApp();
    const first = await signIn(app);
    const second = (await refresh(app, first.refresh_token).expect(200))
      .body as TokenBody;
    const third = (await refresh(app, second.refresh_token).expect(200))
      .body as TokenBody;

    const reuse = await refresh(app, first.refresh_token).expect(400);
    expect(reuse.headers["x-supabase-api-version"]).toBe("2024-01-01");
    expect(reuse.body).toEqual({
      code: "refresh_token_already_used",
      message: "Invalid Refresh Token: Already Used",
    });

    // The family is dead: even the newest token no longer refreshes.
    const live = await db.pool.query(
      "SELECT count(*)::int AS n FROM auth.refresh_tokens WHERE session_id = $1 AND NOT revoked",
      [decodeJwt(first.access_token).session_id],
    );
    expect(live.rows[0]?.n).toBe(0);
    const newest = await refresh(app, third.refresh_token).expect(400);
    expect(newest.body.code).toBe("refresh_token_already_used");
  });

  it("the parent of the live token gets the live token back, as GoTrue allows for lost responses", async () => {
    const app = strictApp();
    const first = await signIn(app);
    const second = (await refresh(app, first.refresh_token).expect(200))
      .body as TokenBody;
    const retried = (await refresh(app, first.refresh_token).expect(200))
      .body as TokenBody;
    expect(retried.refresh_token).toBe(second.refresh_token);
    expect(
      (await refresh(app, second.refresh_token).expect(200)).body.refresh_token,
    ).not.toBe(second.refresh_token);
  });

  it("two concurrent refreshes with one token both succeed with the same child (the session row is locked)", async () => {
    const app = strictApp();
    const first = await signIn(app);
    const [a, b] = await Promise.all([
      refresh(app, first.refresh_token),
      refresh(app, first.refresh_token),
    ]);
    expect(a.status).toBe(200);
    expect(b.status).toBe(200);
    expect((a.body as TokenBody).refresh_token).toBe(
      (b.body as TokenBody).refresh_token,
    );
    const live = await db.pool.query(
      "SELECT count(*)::int AS n FROM auth.refresh_tokens WHERE session_id = $1 AND NOT revoked",
      [decodeJwt(first.access_token).session_id],
    );
    expect(live.rows[0]?.n).toBe(1);
  });

  it("within the default 10 s reuse interval an older revoked token still refreshes", async () => {
    const app = createAuthApp({
      pool: db.pool,
      signingKey: key,
      siteUrl: "http://127.0.0.1:54321",
    });
    const first = await signIn(app);
    const second = (await refresh(app, first.refresh_token).expect(200))
      .body as TokenBody;
    await refresh(app, second.refresh_token).expect(200);
    const reused = await refresh(app, first.refresh_token).expect(200);
    expect(reused.body.refresh_token).toEqual(expect.any(String));
  });

  it("an unknown token fails with refresh_token_not_found", async () => {
    const response = await refresh(strictApp(), "not-a-token").expect(400);
    expect(response.body).toEqual({
      code: "refresh_token_not_found",
      message: "Invalid Refresh Token: Refresh Token Not Found",
    });
  });

  it("a missing or empty refresh_token is a 400 validation_failed", async () => {
    const app = strictApp();
    for (const body of [{}, { refresh_token: "" }, { refresh_token: null }]) {
      const response = await request(app)
        .post("/auth/v1/token?grant_type=refresh_token")
        .set(API_VERSION)
        .send(body);
      expect(response.status).toBe(400);
      expect(response.body.code).toBe("validation_failed");
    }
    const wrongType = await request(app)
      .post("/auth/v1/token?grant_type=refresh_token")
      .set(API_VERSION)
      .send({ refresh_token: 42 });
    expect(wrongType.status).toBe(400);
    expect(wrongType.body.code).toBe("bad_json");
  });

  it("a session past its not_after refuses to refresh with session_expired", async () => {
    const app = strictApp();
    const first = await signIn(app);
    await db.pool.query(
      "UPDATE auth.sessions SET not_after = now() - interval '1 minute' WHERE id = $1",
      [decodeJwt(first.access_token).session_id],
    );
    const response = await refresh(app, first.refresh_token).expect(400);
    expect(response.body.code).toBe("session_expired");
  });
});
