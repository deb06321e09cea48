export * from "./api/envelope.ts";
export * from "./generation/index.ts";
