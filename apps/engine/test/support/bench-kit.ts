/** What bench/engine needs from this package (it has no package.json of its own). */
export { startTestCluster, createTestDatabase } from "@batchgen/db/testing";
export { createPool, findFreePort } from "@batchgen/db";
export { startEngine } from "../../src/index.ts";
export { buildCallBody } from "../../src/executor/call.ts";
export const BENCH_APP_MAIN = new URL("./bench-app-main.ts", import.meta.url).pathname;
export const ENGINE_DIR = new URL("../..", import.meta.url).pathname;
