import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AuthApiError, isAuthSessionMissingError } from "@supabase/supabase-js";
import { createUser, startAuthServer } from "../src/index.ts";
import type { AuthServer } from "../src/index.ts";
import { openTestDb, supabaseFor } from "./support.ts";
import type { TestDb } from "./support.ts";

let db: TestDb;
let server: AuthServer;
const email = "js.faculty@msm.edu";
const password = "correct horse battery";

beforeAll(async () => {
  db = await openTestDb();
  server = await startAuthServer({ pool: db.pool });
  await createUser(db.pool, { email, password, role: "faculty" });
});

afterAll(async () => {
  await server?.close();
  await db?.dispose();
});

describe("supabase-js 2.109 against the stand-in", () => {
  it("signInWithPassword succeeds and returns a session and the user", async () => {
    const supabase = supabaseFor(server.url);
    const { data, error } = await supabase.auth.signInWithPassword({
      email,
      password,
    });
    expect(error).toBeNull();
    expect(data.session?.access_token).toBeTruthy();
    expect(data.session?.refresh_token).toBeTruthy();
    expect(data.session?.token_type).toBe("bearer");
    expect(data.session?.expires_in).toBe(3600);
    expect(data.user?.email).toBe(email);
    expect(data.user?.app_metadata).toMatchObject({
      role: "faculty",
      provider: "email",
    });
  });

  it("signInWithPassword with a wrong password fails with invalid_credentials", async () => {
    const supabase = supabaseFor(server.url);
    const { data, error } = await supabase.auth.signInWithPassword({
      email,
      password: "wrong password",
    });
    expect(data.session).toBeNull();
    expect(error).toBeInstanceOf(AuthApiError);
    expect(error?.status).toBe(400);
    expect(error?.code).toBe("invalid_credentials");
    expect(error?.message).toBe("Invalid login credentials");
  });

  it("signInWithPassword for an unknown email fails the same way", async () => {
    const supabase = supabaseFor(server.url);
    const { error } = await supabase.auth.signInWithPassword({
      email: "nobody@msm.edu",
      password,
    });
    expect(error?.status).toBe(400);
    expect(error?.code).toBe("invalid_credentials");
  });

  it("getUser() returns the signed-in user", async () => {
    const supabase = supabaseFor(server.url);
    const signIn = await supabase.auth.signInWithPassword({ email, password });
    const { data, error } = await supabase.auth.getUser();
    expect(error).toBeNull();
    expect(data.user?.id).toBe(signIn.data.user?.id);
    expect(data.user?.email).toBe(email);
    expect(data.user?.identities?.[0]?.provider).toBe("email");
  });

  it("refreshSession() rotates the refresh token and issues a new access token", async () => {
    const supabase = supabaseFor(server.url);
    const signIn = await supabase.auth.signInWithPassword({ email, password });
    const { data, error } = await supabase.auth.refreshSession();
    expect(error).toBeNull();
    expect(data.session?.refresh_token).toBeTruthy();
    expect(data.session?.refresh_token).not.toBe(
      signIn.data.session?.refresh_token,
    );
    expect(data.user?.id).toBe(signIn.data.user?.id);
    const again = await supabase.auth.getUser();
    expect(again.error).toBeNull();
  });

  it("the issued token passes auth.getClaims() (JWKS, ES256, kid)", async () => {
    const supabase = supabaseFor(server.url);
    const signIn = await supabase.auth.signInWithPassword({ email, password });
    const { data, error } = await supabase.auth.getClaims();
    expect(error).toBeNull();
    expect(data?.header).toMatchObject({
      alg: "ES256",
      kid: server.signingKey.kid,
      typ: "JWT",
    });
    expect(data?.claims).toMatchObject({
      sub: signIn.data.user?.id,
      email,
      role: "authenticated",
      aud: "authenticated",
      iss: server.issuer,
      is_anonymous: false,
    });

    // An explicit token is checked against the JWKS too.
    const explicit = await supabase.auth.getClaims(
      signIn.data.session?.access_token,
    );
    expect(explicit.error).toBeNull();
  });

  it("getClaims() rejects a token whose signature was tampered with", async () => {
    const supabase = supabaseFor(server.url);
    const signIn = await supabase.auth.signInWithPassword({ email, password });
    const token = signIn.data.session?.access_token ?? "";
    const [header, payload] = token.split(".");
    const forged = Buffer.from(
      JSON.stringify({
        ...JSON.parse(Buffer.from(payload ?? "", "base64url").toString()),
        email: "evil@x.y",
      }),
    ).toString("base64url");
    const { data, error } = await supabase.auth.getClaims(
      `${header}.${forged}.${token.split(".")[2]}`,
    );
    expect(data).toBeNull();
    expect(error?.message).toMatch(/signature/i);
  });

  it("signOut() ends the session: the old access token and refresh token stop working", async () => {
    const supabase = supabaseFor(server.url);
    const signIn = await supabase.auth.signInWithPassword({ email, password });
    const session = signIn.data.session;
    expect(session).not.toBeNull();

    const { error } = await supabase.auth.signOut();
    expect(error).toBeNull();
    expect((await supabase.auth.getSession()).data.session).toBeNull();

    const other = supabaseFor(server.url);
    const stale = await other.auth.getUser(session?.access_token);
    expect(stale.data.user).toBeNull();
    expect(isAuthSessionMissingError(stale.error)).toBe(true);

    const refreshed = await other.auth.refreshSession({
      refresh_token: session?.refresh_token ?? "",
    });
    expect(refreshed.error?.code).toBe("refresh_token_not_found");
  });

  it("signOut({ scope: 'others' }) keeps the current session and ends the rest", async () => {
    const first = supabaseFor(server.url);
    const second = supabaseFor(server.url);
    await first.auth.signInWithPassword({ email, password });
    await second.auth.signInWithPassword({ email, password });

    expect((await second.auth.signOut({ scope: "others" })).error).toBeNull();
    expect((await second.auth.getUser()).error).toBeNull();
    const firstUser = await first.auth.getUser();
    expect(isAuthSessionMissingError(firstUser.error)).toBe(true);
  });
});
