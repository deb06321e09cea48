import { inject } from "vitest";
import { createPool } from "@batchgen/db";
import type { Pool } from "@batchgen/db";
import { createTestDatabase } from "@batchgen/db/testing";
import type { TestDatabase } from "@batchgen/db/testing";
import { createClient } from "@supabase/supabase-js";
import type { SupabaseClientOptions } from "@supabase/supabase-js";
import ws from "ws";

declare module "vitest" {
  export interface ProvidedContext {
    pgAdminUrl: string;
  }
}

type RealtimeTransport = NonNullable<
  NonNullable<SupabaseClientOptions<"public">["realtime"]>["transport"]
>;

export interface TestDb {
  readonly database: TestDatabase;
  readonly pool: Pool;
  dispose(): Promise<void>;
}

/** A throwaway, fully migrated database for one test file. */
export async function openTestDb(): Promise<TestDb> {
  const database = await createTestDatabase(inject("pgAdminUrl"));
  const pool = createPool(database.url, { max: 5 });
  return {
    database,
    pool,
    dispose: async () => {
      await pool.end();
      await database.drop();
    },
  };
}

/** supabase-js as the web app uses it; on Node 20 it needs the `ws` transport. */
export function supabaseFor(url: string) {
  return createClient(url, "local-anon-key", {
    auth: {
      persistSession: false,
      autoRefreshToken: false,
      detectSessionInUrl: false,
    },
    realtime: { transport: ws as unknown as RealtimeTransport },
  });
}

export const API_VERSION = { "x-supabase-api-version": "2024-01-01" };
