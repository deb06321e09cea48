/**
 * Which path applies the SDK's answers in the engines a test file starts: "sql" is the default
 * (a single StepRun through the one-round-trip engine.apply_step_run, everything else through
 * executor/handle.ts); "typescript" turns the SQL fast path off, so every answer goes through
 * handle.ts. test/typescript-path/ runs every conformance file again with "typescript", so both
 * paths must pass the same suite (docs/decisions/engine-fast-path.md).
 *
 * Set once per test file, before it starts an engine (vitest isolates test files, so the setting
 * does not leak into other files).
 */
export type StepPath = "sql" | "typescript";

let current: StepPath = "sql";

export function useStepPath(path: StepPath): void {
  current = path;
}

/** The startEngine option for the current path. */
export function stepPathOptions(): { readonly fastPath: boolean } {
  return { fastPath: current === "sql" };
}

/** The same for an engine started as a process (src/cli.ts). */
export function stepPathEnv(): Record<string, string> {
  return { ENGINE_FAST_PATH: current === "sql" ? "on" : "off" };
}
