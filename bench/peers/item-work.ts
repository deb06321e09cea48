import { createPool, type Pool } from "@batchgen/db";
import type { GeneratedQuestion } from "@batchgen/types";
import { SimulatedGenerator } from "../../apps/server/src/generators/simulated.generator.ts";

// The work of one item, the same for every peer: the product's own simulated generator (same
// latency model, same question text), then the question stored in PostgreSQL. The store is an
// upsert that counts how many times the item was stored, so a benchmark can see items done twice.

export const PEER_ITEMS_DDL = `CREATE TABLE IF NOT EXISTS peer_items (
  system text NOT NULL,
  batch_id text NOT NULL,
  position int NOT NULL,
  result jsonb NOT NULL,
  stored_count int NOT NULL DEFAULT 1,
  finished_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (system, batch_id, position)
)`;

export interface ItemWork {
  generate(batchId: string, position: number): Promise<GeneratedQuestion>;
  store(batchId: string, position: number, question: GeneratedQuestion): Promise<void>;
  readonly pool: Pool;
}

export function createItemWork(system: "dbos" | "bullmq", appDatabaseUrl: string, latencyMs: number): ItemWork {
  const generator = new SimulatedGenerator({ latencyMedianMs: latencyMs, latencyJitter: 0, transientFailureRate: 0, permanentFailureRate: 0 });
  const pool = createPool(appDatabaseUrl, { max: 10, applicationName: `bench-${system}` });
  return {
    pool,
    generate: (batchId, position) =>
      generator.generate({ batchId, position, topic: "Cardiology", questionType: "single_best_answer", difficulty: "medium", attempt: 1 }),
    async store(batchId, position, question) {
      await pool.query(
        `INSERT INTO peer_items (system, batch_id, position, result) VALUES ($1, $2, $3, $4)
         ON CONFLICT (system, batch_id, position) DO UPDATE SET result = EXCLUDED.result, stored_count = peer_items.stored_count + 1, finished_at = now()`,
        [system, batchId, position, JSON.stringify(question)],
      );
    },
  };
}

/** Messages between the benchmark and a peer's worker process (Node IPC). */
export type ToWorker =
  | { readonly type: "start"; readonly batchId: string; readonly count: number }
  | { readonly type: "pause"; readonly batchId: string }
  | { readonly type: "resume"; readonly batchId: string }
  | { readonly type: "watch"; readonly on: boolean };

export type FromWorker =
  | { readonly type: "ready" }
  | { readonly type: "started"; readonly batchId: string }
  | { readonly type: "paused" | "resumed"; readonly batchId: string; readonly detail?: string }
  | { readonly type: "item-start"; readonly position: number; readonly at: number }
  | { readonly type: "error"; readonly message: string };

export function send(message: FromWorker): void {
  process.send?.(message);
}

export function requiredEnv(name: string): string {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is required`);
  return value;
}
