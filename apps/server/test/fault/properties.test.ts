/**
 * Property-based: every route of the API, with schema-valid but hostile values in its path, query,
 * headers and body, against the real app and real PostgreSQL. Never a 5xx, always the envelope.
 *
 * Seeded: FUZZ_SEED=<n> replays a run (the default seed is fixed, so CI is deterministic); FUZZ_RUNS
 * scales the number of requests per property. A failure prints the seed and the shrunk request.
 * Not covered: /api/inngest, which speaks Inngest's protocol (a failing step answers 500 by design).
 */
import { randomUUID } from "node:crypto";
import type { BatchDetail } from "@batchgen/types";
import { ERROR_STATUS, type ErrorCode } from "@batchgen/types";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { encodeCursor } from "../../src/lib/cursor.ts";
import { supabaseClaims } from "../support/keys.ts";
import { startPipelineHarness, type PipelineHarness, type TestUser } from "../support/pipeline.ts";

const SEED = Number(process.env.FUZZ_SEED ?? 20261202);
const RUNS = Number(process.env.FUZZ_RUNS ?? 1);

let h: PipelineHarness;
let owner: TestUser;
let other: TestUser;
let student: TestUser;
let ownerBatch: string;
let otherBatch: string;
let tokens: Record<string, string>;

beforeAll(async () => {
  h = await startPipelineHarness({ simulated: { latencyMedianMs: 2_000 } });
  owner = await h.createUser("faculty");
  other = await h.createUser("faculty");
  student = await h.createUser("student");
  const create = async (user: TestUser) => {
    const response = await h.api<BatchDetail>(user, "POST", "/api/v1/generation/batch", {
      topic: "Fuzzed physiology",
      questionType: "single_best_answer",
      difficulty: "medium",
      count: 50,
      concurrency: 1,
    });
    return response.body.data.id;
  };
  ownerBatch = await create(owner);
  otherBatch = await create(other);
  // A user who signed up, then was deleted: the token outlives the account.
  const deleted = await h.createUser("faculty");
  await h.pool.query("DELETE FROM auth.users WHERE id = $1", [deleted.sub]);
  const now = Math.floor(Date.now() / 1000);
  const claims = (sub: string, appMetadata: unknown) => ({ ...supabaseClaims({ sub, email: "x@msm.edu" }), app_metadata: appMetadata });
  tokens = {
    owner: owner.token,
    other: other.token,
    student: student.token,
    deleted: deleted.token,
    // Valid signature, but no such user in auth.users.
    unknown: await h.signer.sign(claims(randomUUID(), { role: "faculty" })),
    oddInstitution: await h.signer.sign(claims(owner.sub, { role: "faculty", institution_id: "not-a-uuid\u0000" })),
    oddRole: await h.signer.sign(claims(owner.sub, { role: ["faculty"], institution_id: 7 })),
    metadataString: await h.signer.sign(claims(owner.sub, "faculty")),
    metadataNull: await h.signer.sign(claims(owner.sub, null)),
    expired: await h.signer.sign(supabaseClaims({ sub: owner.sub, email: owner.email, role: "faculty" }), { expiresIn: now - 5 }),
  };
}, 120_000);

afterAll(async () => {
  if (process.env.FUZZ_STATS) console.log([...stats.entries()].sort().map(([key, n]) => `${String(n).padStart(5)}  ${key}`).join("\n"));
  await h?.close();
});

// ---------------------------------------------------------------------------------------------
// Hostile values

const INT_EDGES = [0, -0, 1, -1, 2, 199, 200, 201, 9_999, 10_000, 10_001, 20, 21, 2 ** 15, 2 ** 31 - 1, 2 ** 31, -(2 ** 31), -(2 ** 31) - 1, 2 ** 32, 2 ** 53 - 1, 2 ** 53, -(2 ** 53), 1e21, -1e21, 1e308, 5e-324, 0.5, 1.0000001];

/** Integers and near-integers at every boundary that matters here (int2/int4/int8, the schema limits, doubles). */
const hostileNumber = fc.oneof(
  { weight: 4, arbitrary: fc.constantFrom(...INT_EDGES) },
  { weight: 2, arbitrary: fc.integer() },
  { weight: 1, arbitrary: fc.maxSafeInteger() },
  { weight: 1, arbitrary: fc.double({ noNaN: true, noDefaultInfinity: true }) },
);

/** One UTF-16 unit or code point: anything in Unicode, lone surrogates, NUL and the other controls. */
const hostileChar = fc.oneof(
  { weight: 6, arbitrary: fc.string({ unit: "binary", minLength: 1, maxLength: 1 }) },
  { weight: 2, arbitrary: fc.integer({ min: 0xd800, max: 0xdfff }).map((code) => String.fromCharCode(code)) },
  { weight: 2, arbitrary: fc.integer({ min: 0, max: 0x1f }).map((code) => String.fromCharCode(code)) },
  { weight: 1, arbitrary: fc.constantFrom("\u0000", "\u007f", "\u2028", "\ufeff", "\ufffd", "'", '"', "\\", "%", "_") },
  { weight: 4, arbitrary: fc.string({ unit: "grapheme-ascii", minLength: 1, maxLength: 1 }) },
);
const hostileString = fc.oneof(
  { weight: 6, arbitrary: fc.string({ unit: hostileChar, maxLength: 40 }) },
  { weight: 1, arbitrary: fc.string({ unit: hostileChar, minLength: 190, maxLength: 520 }) },
  { weight: 1, arbitrary: fc.constantFrom("", " ", "a\u0000b", "\u0000", "\ud800", "\udfff\ud800", "x".repeat(200), "x".repeat(201), "é".repeat(500), "🫀".repeat(150), "Robert'); DROP TABLE batch_jobs;--") },
);

/** Dates a JavaScript parser accepts but PostgreSQL may not, and the other way round. */
const oddDate = fc.oneof(
  fc.constantFrom(
    "0000-01-01T00:00:00.000000Z",
    "0001-01-01T00:00:00.000000Z",
    "9999-12-31T23:59:59.999999Z",
    "2026-02-29T00:00:00.000000Z",
    "2026-02-30T00:00:00.000000Z",
    "2024-02-29T12:00:00Z",
    "2026-01-01T24:00:00.000000Z",
    "2026-01-01T23:59:60.000000Z",
    "2026-13-01T00:00:00Z",
    "+275760-09-13T00:00:00.000Z",
    "-000001-01-01T00:00:00.000Z",
    "10000-01-01T00:00:00Z",
    "1",
    "2026",
    "2026-12-01",
    "Tue, 01 Dec 2026 00:00:00 GMT",
    "2026-12-01 00:00:00+14:00",
    "2026-12-01T00:00:00.1234567Z",
    "infinity",
    "epoch",
  ),
  fc.date({ min: new Date(-8_640_000_000_000_000), max: new Date(8_640_000_000_000_000), noInvalidDate: true }).map((date) => date.toISOString()),
);

const anyJson = fc.jsonValue({ maxDepth: 3 });

/** Cursors as a client could craft them: the right shape with hostile values, other shapes, not JSON at all. */
const itemsCursor = fc.oneof(
  hostileNumber.map((position) => encodeCursor({ position })),
  fc.record({ position: fc.oneof(hostileString, anyJson) }).map((value) => Buffer.from(JSON.stringify(value)).toString("base64url")),
  anyJson.map((value) => Buffer.from(JSON.stringify(value)).toString("base64url")),
  hostileString,
);
const batchesCursor = fc.oneof(
  fc.record({ createdAt: oddDate, id: fc.oneof(fc.uuid(), hostileString) }).map((value) => encodeCursor(value)),
  fc.record({ createdAt: fc.oneof(hostileString, hostileNumber), id: fc.uuid() }).map((value) => Buffer.from(JSON.stringify(value)).toString("base64url")),
  anyJson.map((value) => Buffer.from(JSON.stringify(value)).toString("base64url")),
  hostileString,
);

/** What fetch can put in a header (a ByteString without CR, LF or NUL): everything else is refused client-side. */
const headerValue = fc.string({ unit: fc.oneof(fc.integer({ min: 0x20, max: 0x7e }), fc.integer({ min: 0x80, max: 0xff }), fc.constant(0x09)).map((code) => String.fromCharCode(code)), maxLength: 300 });

const token = fc.oneof(
  { weight: 8, arbitrary: fc.constant("owner").map((name) => `Bearer ${tokens[name]}`) },
  { weight: 6, arbitrary: fc.constantFrom("other", "student", "deleted", "unknown", "oddInstitution", "oddRole", "metadataString", "metadataNull", "expired").map((name) => `Bearer ${tokens[name]}`) },
  { weight: 1, arbitrary: headerValue },
  { weight: 1, arbitrary: headerValue.map((value) => `Bearer ${value}`) },
);

/** Percent-encodes any string as UTF-8 (lone surrogates become U+FFFD, as a browser would send them). */
function pathSegment(value: string): string {
  return [...Buffer.from(value, "utf8")].map((byte) => (/[A-Za-z0-9_.~-]/.test(String.fromCharCode(byte)) ? String.fromCharCode(byte) : `%${byte.toString(16).toUpperCase().padStart(2, "0")}`)).join("");
}

const batchIdSegment = fc.oneof(
  { weight: 4, arbitrary: fc.constantFrom("owner", "other").map((which) => (which === "owner" ? ownerBatch : otherBatch)) },
  { weight: 2, arbitrary: fc.uuid().map(String) },
  { weight: 2, arbitrary: hostileString.map(pathSegment) },
  {
    weight: 1,
    arbitrary: fc
      .constantFrom("%00", "%E0%A4%A", "%FF", "..", "%2F", "00000000-0000-0000-0000-000000000000", "OWNER_UPPER", "OWNER_NUL")
      .map((value) => (value === "OWNER_UPPER" ? ownerBatch.toUpperCase() : value === "OWNER_NUL" ? `${ownerBatch}%00` : value)),
  },
);

const queryValue = (value: fc.Arbitrary<string | number>) => value.map((v) => encodeURIComponentLenient(String(v)));
function encodeURIComponentLenient(value: string): string {
  return pathSegment(value);
}

/** Present sometimes (one time in `rarity`), as a header record entry. */
function sometimes(name: string, value: fc.Arbitrary<string>, rarity: number): fc.Arbitrary<Record<string, string>> {
  return fc.oneof({ weight: rarity - 1, arbitrary: fc.constant({}) }, { weight: 1, arbitrary: value.map((v) => ({ [name]: v })) });
}

const optionalHeaders = fc
  .tuple(
    sometimes("Idempotency-Key", fc.oneof(headerValue, fc.constantFrom("k", "x".repeat(255), "x".repeat(256))), 3),
    sometimes("X-Request-Id", headerValue, 4),
    sometimes("Content-Type", fc.constantFrom("application/json; charset=utf-8", "application/json; charset=latin1", "text/plain", "application/x-www-form-urlencoded"), 8),
    sometimes("Accept", fc.constantFrom("text/event-stream", "application/json", "*/*"), 4),
  )
  .map((parts) => Object.assign({}, ...parts) as Record<string, string>);

interface Probe {
  readonly method: string;
  readonly path: string;
  readonly headers: Record<string, string>;
  readonly body?: string;
}

/** Text the schema accepts but that is far from plain ASCII: any script, emoji, combining marks, up to the length limit. */
const printableTopic = fc.oneof(
  fc.string({ unit: "grapheme", minLength: 1, maxLength: 60 }),
  fc.string({ unit: "grapheme-composite", minLength: 150, maxLength: 200 }),
  fc.constantFrom("x".repeat(200), "🫀".repeat(100), "é".repeat(200), "ـ".repeat(200), "a\u0301".repeat(100), " padded ", "%_\\'\"", "NULL", "null", "\u202eevil"),
);
const createBody = fc.record(
  {
    topic: fc.oneof({ weight: 4, arbitrary: printableTopic }, { weight: 3, arbitrary: hostileString }, { weight: 1, arbitrary: anyJson }),
    questionType: fc.oneof({ weight: 4, arbitrary: fc.constantFrom("single_best_answer", "clinical_vignette") }, { weight: 1, arbitrary: hostileString }),
    difficulty: fc.oneof({ weight: 4, arbitrary: fc.constantFrom("easy", "medium", "hard") }, { weight: 1, arbitrary: hostileString }),
    count: fc.oneof({ weight: 3, arbitrary: fc.constantFrom(1, 2, 3, 10_000) }, { weight: 4, arbitrary: hostileNumber }, { weight: 1, arbitrary: anyJson }),
    concurrency: fc.oneof({ weight: 3, arbitrary: fc.constantFrom(1, 20) }, { weight: 4, arbitrary: hostileNumber }, { weight: 1, arbitrary: anyJson }),
    generator: fc.oneof(fc.constantFrom("simulated", "openai"), hostileString),
  },
  { requiredKeys: ["topic", "questionType", "difficulty", "count"] },
);

const controlBody = fc.oneof(
  fc.record({ action: fc.oneof(fc.constantFrom("pause", "resume", "cancel"), hostileString), reason: fc.oneof(hostileString, anyJson) }, { requiredKeys: [] }),
  anyJson,
);

function withJson(body: unknown): string | undefined {
  return body === undefined ? undefined : JSON.stringify(body);
}

/** A request to one of the routes, with generated values wherever a client can put one. */
interface Route {
  readonly method: string;
  readonly path: string;
  readonly body?: string;
}

const probe: fc.Arbitrary<Probe> = fc
  .tuple(
    fc.oneof<fc.Arbitrary<Route>[]>(
      fc.constant({ method: "GET", path: "/api/v1/me" }),
      createBody.map((body) => ({ method: "POST", path: "/api/v1/generation/batch", body: withJson(body) })),
      fc
        .record({ limit: queryValue(fc.oneof(hostileNumber, hostileString)), cursor: queryValue(batchesCursor) }, { requiredKeys: [] })
        .map((query) => ({ method: "GET", path: `/api/v1/generation/batch?${new URLSearchParams(Object.entries(query)).toString().replace(/%25/g, "%")}` })),
      batchIdSegment.map((id) => ({ method: "GET", path: `/api/v1/generation/batch/${id}` })),
      fc
        .tuple(batchIdSegment, fc.record({ limit: queryValue(fc.oneof(hostileNumber, hostileString)), cursor: queryValue(itemsCursor), status: queryValue(fc.oneof(fc.constantFrom("pending", "generating", "completed", "failed", "cancelled"), hostileString)) }, { requiredKeys: [] }))
        .map(([id, query]) => ({ method: "GET", path: `/api/v1/generation/batch/${id}/items?${new URLSearchParams(Object.entries(query)).toString().replace(/%25/g, "%")}` })),
      batchIdSegment.map((id) => ({ method: "GET", path: `/api/v1/generation/batch/${id}/history` })),
      batchIdSegment.map((id) => ({ method: "GET", path: `/api/v1/generation/batch/${id}/stream` })),
      fc
        .tuple(batchIdSegment, fc.constantFrom("pause", "resume", "cancel"), fc.option(controlBody, { nil: undefined }))
        .map(([id, action, body]) => ({ method: "POST", path: `/api/v1/generation/batch/${id}/${action}`, body: withJson(body) })),
      fc.constantFrom(
        { method: "GET", path: "/health" },
        { method: "GET", path: "/openapi.json" },
        { method: "DELETE", path: `/api/v1/generation/batch/x` },
        // Repeated query parameters arrive as arrays.
        { method: "GET", path: "/api/v1/generation/batch?limit=1&limit=2&cursor=a&cursor=b" },
        { method: "GET", path: `/api/v1/generation/batch/${"00000000-0000-4000-8000-000000000000"}/items?status=pending&status=failed&limit=` },
      ),
    ),
    fc.option(token, { nil: undefined, freq: 10 }),
    optionalHeaders,
  )
  .map(([route, authorization, headers]) => ({
    ...route,
    headers: {
      ...(route.body === undefined ? {} : { "Content-Type": "application/json" }),
      ...headers,
      ...(authorization === undefined ? {} : { Authorization: authorization }),
    },
  }));

// ---------------------------------------------------------------------------------------------

interface Answer {
  readonly status: number;
  readonly contentType: string;
  readonly body: unknown;
}

async function send(request: Probe): Promise<Answer> {
  const response = await fetch(`${h.apiUrl}${request.path}`, {
    method: request.method,
    headers: request.headers,
    body: request.body,
    signal: AbortSignal.timeout(15_000),
  });
  const contentType = response.headers.get("content-type") ?? "";
  if (contentType.startsWith("text/event-stream")) {
    await response.body?.cancel();
    return { status: response.status, contentType, body: null };
  }
  const text = await response.text();
  try {
    return { status: response.status, contentType, body: JSON.parse(text) as unknown };
  } catch {
    return { status: response.status, contentType, body: text };
  }
}

/** Never a 5xx; every JSON answer is the envelope, and an error's code matches its status. */
function checkAnswer(request: Probe, answer: Answer): void {
  const where = `${request.method} ${request.path} → ${answer.status}: ${JSON.stringify(answer.body)?.slice(0, 300)}`;
  expect(answer.status, where).toBeLessThan(500);
  if (answer.contentType.startsWith("text/event-stream")) {
    expect(answer.status, where).toBe(200);
    return;
  }
  if (request.path === "/health" || request.path === "/openapi.json") return;
  const body = answer.body as { data?: unknown; error?: { code?: unknown; message?: unknown } | null } | null;
  expect(typeof body === "object" && body !== null && "data" in body && "error" in body, `not the envelope: ${where}`).toBe(true);
  expect(body!.data === null, `exactly one of data, error: ${where}`).toBe(body!.error !== null);
  if (body!.error) {
    expect(typeof body!.error.message, where).toBe("string");
    expect(ERROR_STATUS[body!.error.code as ErrorCode], `error code for the status: ${where}`).toBe(answer.status);
  }
}

const created: string[] = [];

/** FUZZ_STATS=1 prints how often each route answered each status (to see what a seed explored). */
const stats = new Map<string, number>();
function tally(request: Probe, answer: Answer): void {
  if (!process.env.FUZZ_STATS) return;
  const route = `${request.method} ${request.path.split("?")[0]!.replace(/\/batch\/[^/]+/, "/batch/:id")}`;
  const key = `${route} ${answer.status}${answer.status >= 400 ? ` ${(answer.body as { error?: { code?: string } } | null)?.error?.code ?? ""}` : ""}`;
  stats.set(key, (stats.get(key) ?? 0) + 1);
}

async function run(request: Probe): Promise<void> {
  const answer = await send(request);
  tally(request, answer);
  // A valid create makes a real batch: stop it at once so the fuzz run stays light.
  if (answer.status === 201) {
    const id = (answer.body as { data: { id: string } }).data.id;
    created.push(id);
    await h.api(owner, "POST", `/api/v1/generation/batch/${id}/cancel`);
  }
  checkAnswer(request, answer);
}

// On failure fast-check shrinks the request to a minimal one and prints it with the seed and path to replay it.
const settings = (numRuns: number) => ({ seed: SEED, numRuns: Math.max(1, Math.round(numRuns * RUNS)) });

describe("no 5xx for any input, anywhere (property-based, real app and PostgreSQL)", () => {
  it("every route, hostile path, query, headers and body: never a 5xx, always the envelope", async () => {
    await fc.assert(fc.asyncProperty(probe, run), settings(3_000));
    // Still healthy afterwards, and the owner's batch untouched by anyone else.
    expect((await h.api(owner, "GET", `/api/v1/generation/batch/${ownerBatch}`)).status).toBe(200);
  }, 300_000);

  it("crafted cursors, decoded on the way in: 200 with a page, or 400 naming the cursor", async () => {
    const property = fc.asyncProperty(fc.oneof(itemsCursor.map((c) => ["items", c] as const), batchesCursor.map((c) => ["batches", c] as const)), async ([list, cursor]) => {
      const path = list === "items" ? `/api/v1/generation/batch/${ownerBatch}/items` : "/api/v1/generation/batch";
      const request = { method: "GET", path: `${path}?cursor=${pathSegment(cursor)}`, headers: { Authorization: `Bearer ${owner.token}` } };
      const answer = await send(request);
      tally(request, answer);
      checkAnswer(request, answer);
      if (answer.status !== 200) {
        expect(answer.status).toBe(400);
        expect((answer.body as { error: { details?: { field?: string } } }).error.details?.field).toBe("cursor");
      }
    });
    await fc.assert(property, settings(800));
  }, 120_000);

  it("create with hostile values in an otherwise valid body: 201 only for what the database stores exactly as sent", async () => {
    const property = fc.asyncProperty(createBody, async (body) => {
      const request = { method: "POST", path: "/api/v1/generation/batch", headers: { Authorization: `Bearer ${owner.token}`, "Content-Type": "application/json" }, body: JSON.stringify(body) };
      const answer = await send(request);
      tally(request, answer);
      checkAnswer(request, answer);
      if (answer.status === 201) {
        const id = (answer.body as { data: BatchDetail }).data.id;
        created.push(id);
        await h.api(owner, "POST", `/api/v1/generation/batch/${id}/cancel`);
        const { rows } = await h.pool.query<{ topic: string }>("SELECT config->>'topic' AS topic FROM batch_jobs WHERE id = $1", [id]);
        expect(rows[0]!.topic).toBe((body.topic as string).trim());
      } else {
        expect(answer.status).toBe(400);
      }
    });
    await fc.assert(property, settings(500));
  }, 120_000);
});

describe("the two known examples, and the users behind a valid token", () => {
  it("an items cursor whose position is past int4 is 400 naming the cursor", async () => {
    for (const position of [2 ** 31, 2 ** 31 - 1 + 1, 2 ** 53, -1]) {
      const response = await h.api(owner, "GET", `/api/v1/generation/batch/${ownerBatch}/items?cursor=${encodeCursor({ position })}`);
      expect(response.status, String(position)).toBe(400);
      expect(response.body.error).toMatchObject({ code: "VALIDATION_ERROR", details: { field: "cursor" } });
    }
    const edge = await h.api(owner, "GET", `/api/v1/generation/batch/${ownerBatch}/items?cursor=${encodeCursor({ position: 2 ** 31 - 1 })}`);
    expect(edge.status).toBe(200);
  });

  it("a NUL inside a topic is 400 naming the topic", async () => {
    const response = await h.api(owner, "POST", "/api/v1/generation/batch", { topic: "Renal\u0000physiology", questionType: "single_best_answer", difficulty: "easy", count: 1 });
    expect(response.status).toBe(400);
    expect(response.body.error).toMatchObject({ code: "VALIDATION_ERROR", details: { field: "topic" } });
  });

  it("a batches cursor with a date JavaScript parses but PostgreSQL refuses is 400 naming the cursor", async () => {
    for (const createdAt of ["2026-02-30T00:00:00.000000Z", "+275760-09-13T00:00:00.000Z", "0000-01-01T00:00:00Z", "1"]) {
      const response = await h.api(owner, "GET", `/api/v1/generation/batch?cursor=${encodeCursor({ createdAt, id: randomUUID() })}`);
      expect(response.status, createdAt).toBe(400);
      expect(response.body.error).toMatchObject({ details: { field: "cursor" } });
    }
  });

  it("a valid token whose user was deleted, or never existed: creating a batch is 401, not 500", async () => {
    const body = JSON.stringify({ topic: "Ghosts", questionType: "single_best_answer", difficulty: "easy", count: 10_000 });
    for (const who of ["deleted", "unknown"]) {
      const response = await fetch(`${h.apiUrl}/api/v1/generation/batch`, { method: "POST", headers: { Authorization: `Bearer ${tokens[who]}`, "Content-Type": "application/json" }, body });
      expect(response.status, who).toBe(401);
      expect(await response.json()).toEqual({ data: null, error: { code: "UNAUTHORIZED", message: expect.stringMatching(/no longer exists/) } });
    }
  });
});
