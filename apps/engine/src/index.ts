export { startEngine, MIGRATIONS_DIR } from "./engine.ts";
export type { EngineHandle, EngineOptions } from "./engine.ts";
export type { SyncOutcome } from "./api/sync.ts";
export { VERIFIED_SDK } from "./api/register.ts";
