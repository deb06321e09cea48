import { createPool, type Pool } from "@batchgen/db";
import { createTestDatabase, type TestDatabase } from "@batchgen/db/testing";
import type { Express } from "express";
import { pino } from "pino";
import { inject } from "vitest";
import { createApp } from "../../src/app.ts";
import { createTokenVerifier } from "../../src/auth/token-verifier.ts";
import { createTestSigner, TEST_SUPABASE_URL, type TestSigner } from "./keys.ts";

export interface TestApp {
  readonly app: Express;
  readonly pool: Pool;
  readonly db: TestDatabase;
  readonly signer: TestSigner;
  close(): Promise<void>;
}

/** createApp() on a fresh database cloned from the migrated template. */
export async function createTestApp(): Promise<TestApp> {
  const db = await createTestDatabase(inject("pgAdminUrl"));
  const pool = createPool(db.url, { max: 5 });
  const signer = await createTestSigner();
  const app = createApp({
    pool,
    logger: pino({ level: "silent" }),
    verifyToken: createTokenVerifier({ supabaseUrl: TEST_SUPABASE_URL, keyResolver: signer.keyResolver }),
    corsOrigins: ["http://127.0.0.1:3000"],
    logRequests: false,
  });
  return {
    app,
    pool,
    db,
    signer,
    close: async () => {
      await pool.end();
      await db.drop();
    },
  };
}
