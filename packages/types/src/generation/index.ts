export * from "./batch-control.types.ts";
export * from "./batch.types.ts";
export * from "./batch-events.types.ts";
