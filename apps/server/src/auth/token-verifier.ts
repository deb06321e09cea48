import { APP_ROLES, type AppRole, type AuthUser } from "@batchgen/types";
import { createRemoteJWKSet, errors as joseErrors, jwtVerify, type JWTPayload, type JWTVerifyGetKey } from "jose";

export interface TokenVerifierOptions {
  /** The Supabase project URL; tokens must be issued by `${supabaseUrl}/auth/v1`. */
  readonly supabaseUrl: string;
  /** Legacy projects sign with a shared HS256 secret instead of asymmetric keys. */
  readonly jwtSecret?: string;
  /** For tests: a key resolver instead of fetching the JWKS over HTTP. */
  readonly keyResolver?: JWTVerifyGetKey;
}

export type TokenVerifier = (token: string) => Promise<AuthUser>;

/** Why a token was refused; the message is safe to return to the client. */
export class InvalidTokenError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "InvalidTokenError";
  }
}

interface SupabaseClaims extends JWTPayload {
  email?: unknown;
  app_metadata?: { role?: unknown; institution_id?: unknown };
}

function toAppRole(value: unknown): AppRole | null {
  return typeof value === "string" && (APP_ROLES as readonly string[]).includes(value) ? (value as AppRole) : null;
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
  const jwks =
    options.keyResolver ?? createRemoteJWKSet(new URL(`${issuer}/.well-known/jwks.json`), { cooldownDuration: 30_000 });
  const secret = options.jwtSecret ? new TextEncoder().encode(options.jwtSecret) : undefined;

  return async (token) => {
    let payload: SupabaseClaims;
    try {
      const header = JSON.parse(Buffer.from(token.split(".")[0] ?? "", "base64url").toString("utf8")) as { alg?: unknown };
      const verifyOptions = { issuer, audience: "authenticated", requiredClaims: ["sub", "exp"] };
      if (header.alg === "HS256" && secret) {
        ({ payload } = await jwtVerify<SupabaseClaims>(token, secret, { ...verifyOptions, algorithms: ["HS256"] }));
      } else {
        ({ payload } = await jwtVerify<SupabaseClaims>(token, jwks, { ...verifyOptions, algorithms: ["ES256", "RS256"] }));
      }
    } catch (error) {
      if (error instanceof SyntaxError) throw new InvalidTokenError("Access token is malformed");
      if (error instanceof joseErrors.JOSEError) throw new InvalidTokenError(describe(error));
      // Anything else (JWKS endpoint unreachable) is not the client's fault.
      throw error;
    }
    if (typeof payload.sub !== "string" || payload.sub.length === 0) {
      throw new InvalidTokenError("Access token has no subject");
    }
    const institution = payload.app_metadata?.institution_id;
    return {
      sub: payload.sub,
      email: typeof payload.email === "string" ? payload.email : "",
      role: toAppRole(payload.app_metadata?.role),
      institution_id: typeof institution === "string" ? institution : null,
    };
  };
}
