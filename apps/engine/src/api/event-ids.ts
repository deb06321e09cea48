import { ulid } from "ulid";

const CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";

function encodeBase32(value: bigint, length: number): string {
  let out = "";
  let rest = value;
  for (let i = 0; i < length; i += 1) {
    out = (CROCKFORD[Number(rest & 31n)] ?? "0") + out;
    rest >>= 5n;
  }
  return out;
}

/**
 * Event ids for one request. With the SDK's `x-inngest-event-id-seed` ("<ms>,<base64 of 10
 * bytes>") the ids are derived from the seed, so the SDK's own retries of a send produce the
 * same ids and are deduplicated instead of triggering twice.
 */
export function eventIdsFromSeed(seed: string | undefined, count: number): string[] {
  const [msText, entropyText] = seed?.split(",") ?? [];
  const ms = Number(msText);
  const entropy = entropyText ? Buffer.from(entropyText, "base64") : Buffer.alloc(0);
  if (!Number.isInteger(ms) || ms <= 0 || entropy.length !== 10) return Array.from({ length: count }, () => ulid());
  const base = BigInt(`0x${entropy.toString("hex")}`);
  return Array.from({ length: count }, (_, index) => encodeBase32(BigInt(ms), 10) + encodeBase32((base + BigInt(index)) % (1n << 80n), 16));
}
