import { randomUUID } from "node:crypto";
import { once } from "node:events";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { SignJWT, UnsecuredJWT } from "jose";
import type { JSONWebKeySet } from "jose";
import { generateSigningKey } from "./keys.ts";
import type { SigningKey } from "./keys.ts";
import {
  buildAccessTokenClaims,
  epochSeconds,
  issuerFor,
  signJwt,
} from "./tokens.ts";
import type { SupabaseAccessTokenClaims } from "./tokens.ts";
import { DEMO_INSTITUTION_ID } from "./users.ts";

/** Who a test token is for; `id` should be an `auth.users` id when the API looks the user up. */
export interface TestTokenUser {
  readonly id: string;
  readonly email: string;
  /** The app role in app_metadata (faculty, student, ...). */
  readonly role: string;
  /** Defaults to the demo institution; `null` for none. */
  readonly institutionId?: string | null;
  readonly userMetadata?: Record<string, unknown>;
}

/** Tokens good and bad, all shaped like Supabase's, for the API's 401 tests. */
export interface TestTokens {
  readonly issuer: string;
  readonly signingKey: SigningKey;
  readonly jwks: JSONWebKeySet;
  /** The claims a valid token for `user` carries (handy for asserting what the API attaches). */
  claimsFor(
    user: TestTokenUser,
    overrides?: Partial<SupabaseAccessTokenClaims>,
  ): SupabaseAccessTokenClaims;
  /** Correctly signed; `overrides` replace claims (e.g. `{ app_metadata: ... }`). */
  valid(
    user: TestTokenUser,
    overrides?: Partial<SupabaseAccessTokenClaims>,
  ): Promise<string>;
  /** Correctly signed, expired an hour ago. */
  expired(user: TestTokenUser): Promise<string>;
  /** Signed by another ES256 key that claims the same `kid`. */
  wrongKey(user: TestTokenUser): Promise<string>;
  /** Correctly signed, `iss` of another project. */
  wrongIssuer(user: TestTokenUser): Promise<string>;
  /** Correctly signed, `aud` other than `authenticated`. */
  wrongAudience(user: TestTokenUser): Promise<string>;
  /** Unsigned (`alg: none`), otherwise valid claims. */
  algNone(user: TestTokenUser): string;
  /** HS256 with a shared secret, as legacy Supabase projects sign. */
  hs256(user: TestTokenUser, secret: string): Promise<string>;
}

export interface CreateTestTokensOptions {
  /** The SUPABASE_URL the API under test is configured with. */
  readonly siteUrl: string;
  /** Share the key with a running stand-in; a fresh in-memory key otherwise. */
  readonly signingKey?: SigningKey;
}

export async function createTestTokens(
  options: CreateTestTokensOptions,
): Promise<TestTokens> {
  const signingKey = options.signingKey ?? (await generateSigningKey());
  const issuer = issuerFor(options.siteUrl);
  let impostor: SigningKey | undefined;

  const claimsFor = (
    user: TestTokenUser,
    overrides: Partial<SupabaseAccessTokenClaims> = {},
  ) => ({
    ...buildAccessTokenClaims(
      {
        userId: user.id,
        email: user.email,
        appRole: user.role,
        institutionId:
          user.institutionId === undefined
            ? DEMO_INSTITUTION_ID
            : user.institutionId,
        userMetadata: user.userMetadata,
        sessionId: randomUUID(),
      },
      { issuer },
    ),
    ...overrides,
  });

  return {
    issuer,
    signingKey,
    jwks: { keys: [signingKey.publicJwk] },
    claimsFor,
    valid: (user, overrides) =>
      signJwt(signingKey, { ...claimsFor(user, overrides) }),
    expired: (user) => {
      const now = epochSeconds();
      return signJwt(signingKey, {
        ...claimsFor(user, { iat: now - 7200, exp: now - 3600 }),
      });
    },
    wrongKey: async (user) => {
      impostor ??= await generateSigningKey(signingKey.kid);
      return signJwt(impostor, { ...claimsFor(user) });
    },
    wrongIssuer: (user) =>
      signJwt(signingKey, {
        ...claimsFor(user, {
          iss: "https://wrong-project.supabase.co/auth/v1",
        }),
      }),
    wrongAudience: (user) =>
      signJwt(signingKey, { ...claimsFor(user, { aud: "anon" }) }),
    algNone: (user) => new UnsecuredJWT({ ...claimsFor(user) }).encode(),
    hs256: (user, secret) =>
      new SignJWT({ ...claimsFor(user) })
        .setProtectedHeader({ alg: "HS256", typ: "JWT" })
        .sign(new TextEncoder().encode(secret)),
  };
}

export interface TestIssuer {
  /** Use as SUPABASE_URL for the API under test. */
  readonly url: string;
  readonly issuer: string;
  readonly jwksUrl: string;
  readonly tokens: TestTokens;
  close(): Promise<void>;
}

/**
 * A JWKS-only issuer on 127.0.0.1 with no database: enough for API tests
 * whose auth middleware fetches `<SUPABASE_URL>/auth/v1/.well-known/jwks.json`.
 */
export async function startTestIssuer(
  options: { readonly signingKey?: SigningKey } = {},
): Promise<TestIssuer> {
  const signingKey = options.signingKey ?? (await generateSigningKey());
  const body = JSON.stringify({ keys: [signingKey.publicJwk] });
  const server = createServer((req, res) => {
    if (req.method === "GET" && req.url === "/auth/v1/.well-known/jwks.json") {
      res.writeHead(200, { "content-type": "application/json" }).end(body);
      return;
    }
    res
      .writeHead(404, { "content-type": "application/json" })
      .end('{"code":404,"error_code":"not_found"}');
  });
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  const { port } = server.address() as AddressInfo;
  const url = `http://127.0.0.1:${port}`;
  const tokens = await createTestTokens({ siteUrl: url, signingKey });
  return {
    url,
    issuer: tokens.issuer,
    jwksUrl: `${url}/auth/v1/.well-known/jwks.json`,
    tokens,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.close((error) => (error ? reject(error) : resolve()));
        server.closeAllConnections();
      }),
  };
}
