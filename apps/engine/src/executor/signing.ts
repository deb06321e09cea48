import { createHash, createHmac, timingSafeEqual } from "node:crypto";

const PREFIX = /^signkey-[\w]+-/;

/** The HMAC key is the signing key without its `signkey-<env>-` prefix, used as UTF-8 text. */
export function signPayload(payload: string, signingKey: string, nowSeconds = Math.round(Date.now() / 1000)): string {
  const key = signingKey.replace(PREFIX, "");
  const mac = createHmac("sha256", key).update(payload).update(String(nowSeconds)).digest("hex");
  return `t=${nowSeconds}&s=${mac}`;
}

/** Verifies an `x-inngest-signature` header over `payload` (5 minutes of clock skew allowed). */
export function verifySignature(header: string | null | undefined, payload: string, signingKey: string): boolean {
  if (!header) return false;
  const params = new URLSearchParams(header);
  const ts = params.get("t");
  const sig = params.get("s");
  if (!ts || !sig) return false;
  if (Math.abs(Date.now() / 1000 - Number(ts)) > 300) return false;
  const expected = signPayload(payload, signingKey, Number(ts));
  const a = Buffer.from(expected);
  const b = Buffer.from(`t=${ts}&s=${sig}`);
  return a.length === b.length && timingSafeEqual(a, b);
}

/** What the SDK sends as its bearer token: `signkey-<env>-<sha256 of the hex-decoded key>`. */
export function hashSigningKey(signingKey: string): string {
  const prefix = PREFIX.exec(signingKey)?.[0] ?? "";
  const key = signingKey.replace(PREFIX, "");
  return `${prefix}${createHash("sha256").update(Buffer.from(key, "hex")).digest("hex")}`;
}

/**
 * Whether an Authorization header carries the signing key as a bearer: the key itself (what
 * Inngest's REST API documents) or its hash (what the SDK sends on its own API calls).
 */
export function bearerMatches(authorization: string | undefined, signingKey: string): boolean {
  const token = /^Bearer\s+(.+)$/i.exec(authorization ?? "")?.[1]?.trim();
  if (!token) return false;
  return [signingKey, hashSigningKey(signingKey)].some((expected) => {
    const a = Buffer.from(token);
    const b = Buffer.from(expected);
    return a.length === b.length && timingSafeEqual(a, b);
  });
}
