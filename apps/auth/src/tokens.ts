import { randomBytes } from "node:crypto";
import { SignJWT, jwtVerify } from "jose";
import type { JWTPayload } from "jose";
import { SIGNING_ALGORITHM } from "./keys.ts";
import type { SigningKey } from "./keys.ts";

export const DEFAULT_ACCESS_TOKEN_TTL_SECONDS = 3600;
export const AUTHENTICATED_AUDIENCE = "authenticated";
export const AUTHENTICATED_ROLE = "authenticated";

/** `app_metadata` as the server writes it; the API reads the app role from here, never from user_metadata. */
export interface SupabaseAppMetadata {
  provider: string;
  providers: string[];
  role: string;
  institution_id: string | null;
  [key: string]: unknown;
}

export interface AmrEntry {
  method: string;
  timestamp: number;
}

/** The claim set GoTrue puts into an access token. */
export interface SupabaseAccessTokenClaims {
  iss: string;
  sub: string;
  aud: string;
  exp: number;
  iat: number;
  email: string;
  phone: string;
  app_metadata: SupabaseAppMetadata;
  user_metadata: Record<string, unknown>;
  role: string;
  aal: "aal1" | "aal2";
  amr: AmrEntry[];
  session_id: string;
  is_anonymous: boolean;
}

export interface AccessTokenSubject {
  userId: string;
  email: string;
  /** The app role (faculty, student, ...), stored in app_metadata. */
  appRole: string;
  institutionId: string | null;
  userMetadata?: Record<string, unknown>;
  /**
   * The rest of app_metadata as stored (GoTrue copies all of it into the
   * token); `role` and `institution_id` above always win.
   */
  appMetadata?: Record<string, unknown>;
  sessionId: string;
  /** When the session was authenticated (the `amr` timestamp), in epoch seconds. */
  authenticatedAt?: number;
}

export interface AccessTokenTiming {
  /** `<SUPABASE_URL>/auth/v1` */
  issuer: string;
  ttlSeconds?: number;
  /** The issue time; defaults to now. */
  now?: Date;
}

export function epochSeconds(date: Date = new Date()): number {
  return Math.floor(date.getTime() / 1000);
}

/** The issuer for a Supabase URL: `<url>/auth/v1`, without a trailing slash on the URL. */
export function issuerFor(siteUrl: string): string {
  return `${siteUrl.replace(/\/+$/, "")}/auth/v1`;
}

export function buildAccessTokenClaims(
  subject: AccessTokenSubject,
  timing: AccessTokenTiming,
): SupabaseAccessTokenClaims {
  const iat = epochSeconds(timing.now);
  const ttl = timing.ttlSeconds ?? DEFAULT_ACCESS_TOKEN_TTL_SECONDS;
  return {
    iss: timing.issuer,
    sub: subject.userId,
    aud: AUTHENTICATED_AUDIENCE,
    exp: iat + ttl,
    iat,
    email: subject.email,
    phone: "",
    app_metadata: {
      provider: "email",
      providers: ["email"],
      ...subject.appMetadata,
      role: subject.appRole,
      institution_id: subject.institutionId,
    },
    user_metadata: subject.userMetadata ?? {},
    role: AUTHENTICATED_ROLE,
    aal: "aal1",
    amr: [{ method: "password", timestamp: subject.authenticatedAt ?? iat }],
    session_id: subject.sessionId,
    is_anonymous: false,
  };
}

/** Signs any claim set with the key's `kid` in the header, as the JWKS publishes it. */
export async function signJwt(
  key: SigningKey,
  claims: JWTPayload,
): Promise<string> {
  return new SignJWT(claims)
    .setProtectedHeader({ alg: SIGNING_ALGORITHM, kid: key.kid, typ: "JWT" })
    .sign(key.privateKey);
}

export interface SignedAccessToken {
  token: string;
  claims: SupabaseAccessTokenClaims;
  expiresAt: number;
  expiresIn: number;
}

/** Builds Supabase-shaped claims for `subject` and signs them. */
export async function signAccessToken(
  key: SigningKey,
  subject: AccessTokenSubject,
  timing: AccessTokenTiming,
): Promise<SignedAccessToken> {
  const claims = buildAccessTokenClaims(subject, timing);
  const token = await signJwt(key, { ...claims });
  return {
    token,
    claims,
    expiresAt: claims.exp,
    expiresIn: claims.exp - claims.iat,
  };
}

/**
 * Verifies a token the way GoTrue does for its own endpoints: signature by
 * our key (ES256 only, so `alg: none` and HS256 are refused) and expiry.
 * Issuer and audience are left to the resource servers, as upstream does.
 */
export async function verifyAccessToken(
  key: SigningKey,
  token: string,
): Promise<JWTPayload> {
  const { payload } = await jwtVerify(token, key.publicKey, {
    algorithms: [SIGNING_ALGORITHM],
  });
  return payload;
}

/**
 * Opaque refresh tokens: 24 random bytes, base64url. GoTrue's own are opaque
 * too; nothing may parse them.
 */
export function generateRefreshToken(): string {
  return randomBytes(24).toString("base64url");
}
