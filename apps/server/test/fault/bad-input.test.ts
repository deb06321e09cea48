import { randomUUID } from "node:crypto";
import { exportJWK, generateKeyPair, SignJWT } from "jose";
import type { BatchDetail } from "@batchgen/types";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { supabaseClaims, TEST_ISSUER } from "../support/keys.ts";
import { startPipelineHarness, type PipelineHarness, type TestUser } from "../support/pipeline.ts";

let h: PipelineHarness;
let owner: TestUser;
let intruder: TestUser;
let batchId: string;

beforeAll(async () => {
  h = await startPipelineHarness({ simulated: { latencyMedianMs: 2_000 } });
  owner = await h.createUser("faculty");
  intruder = await h.createUser("faculty");
  const created = await h.api<BatchDetail>(owner, "POST", "/api/v1/generation/batch", {
    topic: "Immunology",
    questionType: "single_best_answer",
    difficulty: "medium",
    count: 500,
    concurrency: 1,
  });
  batchId = created.body.data.id;
});
afterAll(async () => {
  await h?.close();
});

/** A small seeded PRNG so a failure can be replayed. */
function prng(seed: number) {
  let state = seed >>> 0;
  const next = () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return { next, pick: <T>(items: readonly T[]): T => items[Math.floor(next() * items.length)]! };
}

interface Probe {
  method: string;
  path: string;
  headers: Record<string, string>;
  body?: string | Uint8Array;
}

async function send(probe: Probe) {
  const response = await fetch(`${h.apiUrl}${probe.path}`, {
    method: probe.method,
    headers: probe.headers,
    body: probe.body,
    signal: AbortSignal.timeout(10_000),
  });
  const type = response.headers.get("content-type") ?? "";
  if (type.startsWith("text/event-stream")) {
    await response.body?.cancel();
    return { status: response.status, type, body: null as unknown };
  }
  const text = await response.text();
  let body: unknown = text;
  try {
    body = JSON.parse(text);
  } catch {
    // checked below
  }
  return { status: response.status, type, body };
}

describe("bad input, generated", () => {
  it("5,000 malformed requests against every route: no 5xx, every answer in the envelope, nothing written by a rejected request", async () => {
    const random = prng(20261130);
    const { privateKey: otherKey, publicKey: otherPublic } = await generateKeyPair("ES256", { extractable: true });
    const otherKid = (await exportJWK(otherPublic)).x!;
    const valid = owner.token;
    const claims = supabaseClaims({ sub: owner.sub, email: owner.email, role: "faculty" });
    const now = Math.floor(Date.now() / 1000);
    const b64 = (value: unknown) => Buffer.from(JSON.stringify(value)).toString("base64url");
    const tokens = [
      valid,
      intruder.token,
      await h.signer.sign(claims, { expiresIn: now - 10 }),
      await h.signer.sign(claims, { issuer: "https://other.supabase.co/auth/v1" }),
      await h.signer.sign(claims, { audience: "anon" }),
      await new SignJWT(claims).setProtectedHeader({ alg: "ES256", kid: otherKid }).setIssuer(TEST_ISSUER).setAudience("authenticated").setExpirationTime("1h").sign(otherKey),
      `${b64({ alg: "none", typ: "JWT" })}.${b64({ ...claims, iss: TEST_ISSUER, aud: "authenticated", exp: now + 3600 })}.`,
      valid.slice(0, -7),
      valid.split(".").slice(0, 2).join("."),
      "x".repeat(5000),
      "",
      "\\u00ff.\\u00fe.\\u0000",
      "eyJhbGciOiJFUzI1NiJ9.e30.AAAA",
    ];
    const authHeaders = [...tokens.map((token) => `Bearer ${token}`), "Basic dXNlcjpwYXNz", "Bearer", `bearer ${valid}`, "Token abc"];
    const ids = [batchId, randomUUID(), "not-a-uuid", "../../etc/passwd", "%00", "1 OR 1=1", "00000000-0000-0000-0000-000000000000", "x".repeat(300), "%E0%A4%A"];
    const paths = (id: string) => [
      ["GET", "/api/v1/me"],
      ["POST", "/api/v1/generation/batch"],
      ["GET", "/api/v1/generation/batch"],
      ["GET", `/api/v1/generation/batch/${id}`],
      ["GET", `/api/v1/generation/batch/${id}/items`],
      ["GET", `/api/v1/generation/batch/${id}/history`],
      ["GET", `/api/v1/generation/batch/${id}/stream`],
      ["POST", `/api/v1/generation/batch/${id}/pause`],
      ["POST", `/api/v1/generation/batch/${id}/resume`],
      ["POST", `/api/v1/generation/batch/${id}/cancel`],
      ["DELETE", `/api/v1/generation/batch/${id}`],
      ["PUT", "/api/v1/generation/batch"],
      ["GET", `/api/v1/generation/batch?limit=${random.pick(["-1", "abc", "1e9", "20", ""])}&cursor=${random.pick(["", "zz", "eyJ4Ijox"])}`],
      ["GET", `/api/v1/generation/batch/${id}/items?status=${random.pick(["pending", "bogus", ""])}&limit=${random.pick(["0", "5", "NaN"])}`],
      ["GET", "/health"],
      ["GET", "/api/v1/nothing-here"],
    ] as const;
    let nested = "1";
    for (let depth = 0; depth < 5_000; depth += 1) nested = `{"a":${nested}}`;
    const bodies: (string | Uint8Array | undefined)[] = [
      undefined,
      "",
      "{",
      "null",
      "[]",
      '"text"',
      "42",
      '{"topic":123,"questionType":[],"difficulty":{},"count":"many"}',
      '{"topic":"ok","questionType":"single_best_answer","difficulty":"easy","count":1e308}',
      '{"reason":' + '"x"'.repeat(3) + "}",
      JSON.stringify({ reason: "r".repeat(600) }),
      JSON.stringify({ reason: 7 }),
      JSON.stringify({ __proto__: { admin: true }, constructor: { prototype: { x: 1 } } }),
      nested,
      JSON.stringify({ topic: "t".repeat(150_000) }),
      new Uint8Array([0xff, 0xfe, 0x00, 0x01, 0x80]),
    ];
    const contentTypes = ["application/json", "application/json; charset=utf-16", "text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x", "application/xml", ""];

    const before = await h.pool.query<{ n: string }>("SELECT count(*) AS n FROM batch_jobs");
    const probes: Probe[] = [];
    for (let index = 0; index < 5_000; index += 1) {
      const [method, path] = random.pick(paths(random.pick(ids)));
      const headers: Record<string, string> = {};
      const auth = random.pick(authHeaders);
      if (random.next() < 0.93) headers.Authorization = auth;
      const type = random.pick(contentTypes);
      if (type) headers["Content-Type"] = type;
      if (random.next() < 0.2) headers["Idempotency-Key"] = random.pick(["k", "", " spaced key ", "x".repeat(400), "ключ"]).replace(/[^\x20-\x7e]/g, "?");
      if (random.next() < 0.1) headers["X-Request-Id"] = random.pick(["abc", "<script>", "x".repeat(500)]);
      const body = method === "GET" || method === "DELETE" ? undefined : random.pick(bodies);
      // Valid creates by the owner would write rows; keep this run to rejected requests.
      if (method === "POST" && path === "/api/v1/generation/batch" && auth === `Bearer ${valid}` && typeof body === "string" && body.includes('"count":1')) continue;
      probes.push({ method, path, headers, body });
    }
    expect(probes.length).toBeGreaterThan(4_900);

    const failures: string[] = [];
    let cursor = 0;
    await Promise.all(
      Array.from({ length: 16 }, async () => {
        while (cursor < probes.length) {
          const probe = probes[cursor++]!;
          const result = await send(probe);
          const where = `${probe.method} ${probe.path} → ${result.status}`;
          if (result.status >= 500) failures.push(`${where}: ${JSON.stringify(result.body).slice(0, 200)}`);
          if (result.type.startsWith("text/event-stream")) continue;
          if (probe.path === "/health" || probe.path === "/openapi.json") continue;
          const body = result.body as { data?: unknown; error?: { code?: unknown; message?: unknown } | null };
          const inEnvelope =
            typeof body === "object" && body !== null && "data" in body && "error" in body && (body.error === null) !== (body.data === null);
          if (!inEnvelope) failures.push(`${where}: not in the envelope: ${String(JSON.stringify(body)).slice(0, 200)}`);
          else if (body.error && (typeof body.error.code !== "string" || typeof body.error.message !== "string")) failures.push(`${where}: malformed error`);
          if (result.status < 400 && probe.headers.Authorization !== `Bearer ${valid}` && probe.path.includes(batchId)) {
            failures.push(`${where}: succeeded without the owner's token`);
          }
        }
      }),
    );
    expect(failures.slice(0, 20)).toEqual([]);
    const after = await h.pool.query<{ n: string }>("SELECT count(*) AS n FROM batch_jobs");
    expect(after.rows[0]!.n).toBe(before.rows[0]!.n);
    // The service is still healthy afterwards.
    expect((await h.api(owner, "GET", `/api/v1/generation/batch/${batchId}`)).status).toBe(200);
  }, 180_000);

  it("another faculty member reaching for the batch through every route: always 403 or 404, never data, nothing changes", async () => {
    const routes = [
      ["GET", ""],
      ["GET", "/items"],
      ["GET", "/history"],
      ["GET", "/stream"],
      ["POST", "/pause"],
      ["POST", "/resume"],
      ["POST", "/cancel"],
    ] as const;
    const { rows: before } = await h.pool.query("SELECT status, updated_at FROM batch_jobs WHERE id = $1", [batchId]);
    const { rows: eventsBefore } = await h.pool.query("SELECT count(*)::int AS n FROM batch_control_events WHERE batch_id = $1", [batchId]);
    for (const [method, suffix] of routes) {
      const response = await h.api(intruder, method, `/api/v1/generation/batch/${batchId}${suffix}`, method === "POST" ? {} : undefined);
      expect([403, 404], `${method} ${suffix}`).toContain(response.status);
      expect(response.body.data).toBeNull();
    }
    const list = await h.api<{ items: { id: string }[] }>(intruder, "GET", "/api/v1/generation/batch");
    expect(list.body.data.items.map((item) => item.id)).not.toContain(batchId);
    const { rows: events } = await h.pool.query("SELECT count(*)::int AS n FROM batch_control_events WHERE batch_id = $1", [batchId]);
    expect(events[0].n).toBe(eventsBefore[0].n);
    const { rows: after } = await h.pool.query("SELECT status FROM batch_jobs WHERE id = $1", [batchId]);
    expect(after[0].status).toBe(before[0].status);
  });
});
