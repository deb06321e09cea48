import { APP_ROLES, type AppRole, type AuthUser } from "@batchgen/types";
import { createRemoteJWKSet, errors as joseErrors, jwtVerify, type JWTPayload, type JWTVerifyGetKey } from "jose";

export interface TokenVerifierOptions {
  /** The Supabase project URL; tokens must be issued by `${supabaseUrl}/auth/v1`. */
  readonly supabaseUrl: string;
  /** Legacy projects sign with a shared HS256 secret instead of asymmetric keys. */
  readonly jwtSecret?: string;
  /** For tests: a key resolver instead of fetching the JWKS over HTTP. */
  readonly keyResolver?: JWTVerifyGetKey;
  /** How long a JWKS fetch may take before the auth service counts as unavailable (jose's default: 5 s). */
  readonly jwksTimeoutMs?: number;
}

export type TokenVerifier = (token: string) => Promise<AuthUser>;

/** Why a token was refused; the message is safe to return to the client. */
export class InvalidTokenError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "InvalidTokenError";
  }
}

/**
 * The keys to check a token could not be had (the JWKS endpoint errored, timed out or answered
 * something that is not a key set): the token may be fine, so this is an outage (503), not a 401.
 */
export class AuthUnavailableError extends Error {
  constructor(cause: unknown) {
    super("Could not fetch the auth service's signing keys", { cause });
    this.name = "AuthUnavailableError";
  }
}

interface SupabaseClaims extends JWTPayload {
  email?: unknown;
  app_metadata?: unknown;
}

function toAppRole(value: unknown): AppRole | null {
  return typeof value === "string" && (APP_ROLES as readonly string[]).includes(value) ? (value as AppRole) : null;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** The token's protected header, which must be a JSON object; anything else is a malformed token (401). */
function protectedHeader(token: string): Record<string, unknown> {
  let header: unknown;
  try {
    header = JSON.parse(Buffer.from(token.split(".")[0] ?? "", "base64url").toString("utf8"));
  } catch {
    throw new InvalidTokenError("Access token is malformed");
  }
  if (typeof header !== "object" || header === null || Array.isArray(header)) throw new InvalidTokenError("Access token is malformed");
  return header as Record<string, unknown>;
}

/**
 * Wraps the JWKS resolver so that a failure to get the keys (HTTP error, timeout, garbage) is told
 * apart from a token that matches no key: the first is AuthUnavailableError, the second stays a 401.
 */
function distinguishOutages(resolver: JWTVerifyGetKey): JWTVerifyGetKey {
  return async (header, token) => {
    try {
      return await resolver(header, token);
    } catch (error) {
      if (error instanceof joseErrors.JWKSNoMatchingKey || error instanceof joseErrors.JWKSMultipleMatchingKeys) throw error;
      throw new AuthUnavailableError(error);
    }
  };
}

function describe(error: unknown): string {
  if (error instanceof joseErrors.JWTExpired) return "Access token has expired";
  if (error instanceof joseErrors.JWTClaimValidationFailed) return `Access token ${error.claim} claim is not accepted`;
  if (error instanceof joseErrors.JWSSignatureVerificationFailed) return "Access token signature is invalid";
  if (error instanceof joseErrors.JOSEAlgNotAllowed) return "Access token algorithm is not allowed";
  if (error instanceof joseErrors.JWKSNoMatchingKey) return "Access token was signed by an unknown key";
  if (error instanceof joseErrors.JWSInvalid || error instanceof joseErrors.JWTInvalid) return "Access token is malformed";
  return "Access token could not be verified";
}

/**
 * Verifies Supabase access tokens: signature against the project's JWKS
 * (ES256/RS256) or the legacy HS256 secret, issuer and audience pinned (the
 * browser's getClaims() checks neither), and derives the caller from the
 * server-written app_metadata — never from user_metadata, which users can edit.
 */
export function createTokenVerifier(options: TokenVerifierOptions): TokenVerifier {
  const issuer = `${options.supabaseUrl.replace(/\/+$/, "")}/auth/v1`;
  const jwks = distinguishOutages(
    options.keyResolver ??
      createRemoteJWKSet(new URL(`${issuer}/.well-known/jwks.json`), {
        cooldownDuration: 30_000,
        ...(options.jwksTimeoutMs === undefined ? {} : { timeoutDuration: options.jwksTimeoutMs }),
      }),
  );
  const secret = options.jwtSecret ? new TextEncoder().encode(options.jwtSecret) : undefined;

  return async (token) => {
    let payload: SupabaseClaims;
    const header = protectedHeader(token);
    try {
      const verifyOptions = { issuer, audience: "authenticated", requiredClaims: ["sub", "exp"] };
      if (header.alg === "HS256" && secret) {
        ({ payload } = await jwtVerify<SupabaseClaims>(token, secret, { ...verifyOptions, algorithms: ["HS256"] }));
      } else {
        ({ payload } = await jwtVerify<SupabaseClaims>(token, jwks, { ...verifyOptions, algorithms: ["ES256", "RS256"] }));
      }
    } catch (error) {
      if (error instanceof AuthUnavailableError) throw error;
      if (error instanceof joseErrors.JOSEError) throw new InvalidTokenError(describe(error));
      // Anything else is not the client's fault.
      throw error;
    }
    // Supabase user ids are UUIDs (auth.users.id); any other subject names no user of ours.
    if (typeof payload.sub !== "string" || !UUID.test(payload.sub)) {
      throw new InvalidTokenError("Access token has no valid subject");
    }
    const metadata: unknown = payload.app_metadata;
    const appMetadata = typeof metadata === "object" && metadata !== null ? (metadata as Record<string, unknown>) : {};
    const institution = appMetadata.institution_id;
    return {
      sub: payload.sub,
      email: typeof payload.email === "string" ? payload.email : "",
      role: toAppRole(appMetadata.role),
      // An institution is a UUID; anything else in app_metadata names none.
      institution_id: typeof institution === "string" && UUID.test(institution) ? institution : null,
    };
  };
}
