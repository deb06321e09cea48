import { randomUUID } from "node:crypto";
import { mkdir, readFile, rename, writeFile } from "node:fs/promises";
import path from "node:path";
import { exportJWK, generateKeyPair, importJWK } from "jose";
import type { CryptoKey, JWK } from "jose";

export const SIGNING_ALGORITHM = "ES256";
export const SIGNING_KEY_FILE = "signing-key.jwk.json";

/** An ES256 key pair with its `kid`, as the token issuer and the JWKS need it. */
export interface SigningKey {
  readonly kid: string;
  readonly privateKey: CryptoKey;
  readonly publicKey: CryptoKey;
  /** The public half as published in the JWKS (`kid`, `alg`, `use`, `key_ops`). */
  readonly publicJwk: JWK;
}

async function signingKeyFromPrivateJwk(privateJwk: JWK): Promise<SigningKey> {
  const kid = privateJwk.kid;
  if (typeof kid !== "string" || kid.length === 0) {
    throw new Error("signing key file has no kid");
  }
  const privateKey = await importJWK(privateJwk, SIGNING_ALGORITHM);
  if (privateKey instanceof Uint8Array) {
    throw new Error("signing key file does not hold an EC key");
  }
  const { kty, crv, x, y } = privateJwk;
  if (kty !== "EC" || crv !== "P-256" || !x || !y) {
    throw new Error("signing key file does not hold a P-256 key");
  }
  const publicJwk: JWK = {
    kty,
    crv,
    x,
    y,
    kid,
    alg: SIGNING_ALGORITHM,
    use: "sig",
    key_ops: ["verify"],
  };
  const publicKey = await importJWK(publicJwk, SIGNING_ALGORITHM);
  if (publicKey instanceof Uint8Array) {
    throw new Error("signing key file does not hold an EC key");
  }
  return { kid, privateKey, publicKey, publicJwk };
}

/** A fresh key that lives only in memory (tests, throwaway servers). */
export async function generateSigningKey(
  kid: string = randomUUID(),
): Promise<SigningKey> {
  const { privateKey } = await generateKeyPair(SIGNING_ALGORITHM, {
    extractable: true,
  });
  const privateJwk = await exportJWK(privateKey);
  return signingKeyFromPrivateJwk({
    ...privateJwk,
    kid,
    alg: SIGNING_ALGORITHM,
  });
}

function isMissingFile(error: unknown): boolean {
  return error instanceof Error && "code" in error && error.code === "ENOENT";
}

async function readPrivateJwk(file: string): Promise<JWK | undefined> {
  try {
    return JSON.parse(await readFile(file, "utf8")) as JWK;
  } catch (error) {
    if (isMissingFile(error)) {
      return undefined;
    }
    throw new Error(
      `cannot read the auth signing key at ${file}: ${String(error)}`,
    );
  }
}

/**
 * The signing key under `keyDir`, created on first use. It must survive
 * restarts: a new key would invalidate every session a browser still holds,
 * and the API caches the JWKS.
 */
export async function loadOrCreateSigningKey(
  keyDir: string,
): Promise<SigningKey> {
  const file = path.join(keyDir, SIGNING_KEY_FILE);
  const existing = await readPrivateJwk(file);
  if (existing) {
    return signingKeyFromPrivateJwk(existing);
  }
  await mkdir(keyDir, { recursive: true, mode: 0o700 });
  const kid = randomUUID();
  const { privateKey } = await generateKeyPair(SIGNING_ALGORITHM, {
    extractable: true,
  });
  const privateJwk: JWK = {
    ...(await exportJWK(privateKey)),
    kid,
    alg: SIGNING_ALGORITHM,
  };
  // Write then rename, so a crash never leaves a half-written key that would
  // stop the next start.
  const temporary = `${file}.${process.pid}.tmp`;
  await writeFile(temporary, `${JSON.stringify(privateJwk, null, 2)}\n`, {
    mode: 0o600,
  });
  await rename(temporary, file);
  return signingKeyFromPrivateJwk(privateJwk);
}
