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
 * The server's internal ids for the events of one request. With the SDK's
 * `x-inngest-event-id-seed` ("<ms>,<base64 of 10 bytes>") they are derived from the seed exactly
 * as Inngest does (pkg/event/id.go SeededIDFromString, called with the 1-based index of the event
 * in the request: the index is added to the last 4 bytes of the entropy), so the SDK's own retries
 * of a send produce the same ids. Without a seed, fresh ULIDs.
 */
export function eventIdsFromSeed(seed: string | undefined, count: number): string[] {
  const [msText, entropyText] = seed?.split(",") ?? [];
  const ms = Number(msText);
  const entropy = entropyText ? Buffer.from(entropyText, "base64") : Buffer.alloc(0);
  if (!Number.isInteger(ms) || ms <= 0 || entropy.length !== 10) return Array.from({ length: count }, () => ulid());
  return Array.from({ length: count }, (_, index) => {
    const bytes = Buffer.from(entropy);
    bytes.writeUInt32BE((bytes.readUInt32BE(6) + index + 1) >>> 0, 6);
    return encodeBase32(BigInt(ms), 10) + encodeBase32(BigInt(`0x${bytes.toString("hex")}`), 16);
  });
}
