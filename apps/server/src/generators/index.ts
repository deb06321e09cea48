import type { GeneratorName } from "@batchgen/types";
import { PermanentGenerationError, type ItemGenerator } from "./generator.ts";
import {
  OpenAIGenerator,
  type OpenAIGeneratorOptions,
} from "./openai.generator.ts";
import {
  SimulatedGenerator,
  type SimulatedGeneratorOptions,
} from "./simulated.generator.ts";

export * from "./generator.ts";
export {
  DEFAULT_OPENAI_BASE_URL,
  DEFAULT_OPENAI_TIMEOUT_MS,
  GENERATED_QUESTION_JSON_SCHEMA,
  OpenAIGenerator,
  type OpenAIGeneratorOptions,
} from "./openai.generator.ts";
export {
  DEFAULT_SIMULATED_GENERATOR_OPTIONS,
  SimulatedGenerator,
  type SimulatedAttemptPlan,
  type SimulatedBehaviour,
  type SimulatedGeneratorOptions,
} from "./simulated.generator.ts";

/** Settings for every generator, filled by the server's config from env. */
export interface GeneratorsOptions {
  readonly simulated?: SimulatedGeneratorOptions;
  /** Absent when OPENAI_MODEL is not configured: the openai generator is then unavailable. */
  readonly openai?: OpenAIGeneratorOptions;
}

/** The generators a batch may ask for with these options (for validating a create request). */
export function listAvailableGenerators(
  options: GeneratorsOptions,
): GeneratorName[] {
  return options.openai ? ["simulated", "openai"] : ["simulated"];
}

/**
 * Builds the generator a batch asked for. Generators hold no per-item state, so one instance
 * per name can serve every item of every batch. An unconfigured openai generator is a permanent
 * failure: retrying cannot configure it.
 */
export function createGenerator(
  name: GeneratorName,
  options: GeneratorsOptions = {},
): ItemGenerator {
  switch (name) {
    case "simulated":
      return new SimulatedGenerator(options.simulated);
    case "openai":
      if (!options.openai) {
        throw new PermanentGenerationError(
          "the openai generator is not configured (set OPENAI_MODEL and OPENAI_BASE_URL)",
        );
      }
      return new OpenAIGenerator(options.openai);
  }
}
