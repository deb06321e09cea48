import { randomUUID } from "node:crypto";
import { createLocalJWKSet, exportJWK, generateKeyPair, SignJWT, type JWK } from "jose";

export const TEST_SUPABASE_URL = "http://127.0.0.1:54321";
export const TEST_ISSUER = `${TEST_SUPABASE_URL}/auth/v1`;

export interface TestSigner {
  readonly keyResolver: ReturnType<typeof createLocalJWKSet>;
  sign(claims: Record<string, unknown>, options?: { expiresIn?: string | number; issuer?: string; audience?: string }): Promise<string>;
}

/** An ES256 key pair and a JWKS holding its public half, as Supabase publishes. */
export async function createTestSigner(): Promise<TestSigner> {
  const { privateKey, publicKey } = await generateKeyPair("ES256", { extractable: true });
  const kid = randomUUID();
  const jwk: JWK = { ...(await exportJWK(publicKey)), kid, alg: "ES256", use: "sig" };
  return {
    keyResolver: createLocalJWKSet({ keys: [jwk] }),
    sign: (claims, options = {}) =>
      new SignJWT(claims)
        .setProtectedHeader({ alg: "ES256", kid, typ: "JWT" })
        .setIssuer(options.issuer ?? TEST_ISSUER)
        .setAudience(options.audience ?? "authenticated")
        .setIssuedAt()
        .setExpirationTime(options.expiresIn ?? "1h")
        .sign(privateKey),
  };
}

export function supabaseClaims(user: { sub: string; email: string; role?: string; institutionId?: string }) {
  return {
    sub: user.sub,
    email: user.email,
    role: "authenticated",
    session_id: randomUUID(),
    is_anonymous: false,
    app_metadata: { provider: "email", providers: ["email"], role: user.role, institution_id: user.institutionId },
    user_metadata: {},
  };
}
