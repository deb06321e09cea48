export * from "./batch-control.types.ts";
export * from "./batch.types.ts";
