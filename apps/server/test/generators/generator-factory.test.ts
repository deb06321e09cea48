import { describe, expect, it } from "vitest";
import {
  GenerationAbortedError,
  OpenAIGenerator,
  PermanentGenerationError,
  SimulatedGenerator,
  TransientGenerationError,
  classifyGenerationError,
  createGenerator,
  listAvailableGenerators,
} from "../../src/generators/index.ts";

describe("createGenerator", () => {
  it("builds the simulated generator with the given options", async () => {
    const generator = createGenerator("simulated", {
      simulated: { latencyMedianMs: 0, transientFailureRate: 1 },
    });
    expect(generator).toBeInstanceOf(SimulatedGenerator);
    expect(generator.name).toBe("simulated");
    await expect(
      generator.generate({
        batchId: "b",
        position: 1,
        topic: "t",
        questionType: "single_best_answer",
        difficulty: "easy",
        attempt: 1,
      }),
    ).rejects.toBeInstanceOf(TransientGenerationError);
  });

  it("builds the openai generator when it is configured", () => {
    const generator = createGenerator("openai", {
      openai: { model: "gpt-test", baseURL: "http://127.0.0.1:9/v1" },
    });
    expect(generator).toBeInstanceOf(OpenAIGenerator);
    expect(generator.name).toBe("openai");
  });

  it("asking for an unconfigured openai generator is a permanent failure", () => {
    expect(() => createGenerator("openai", {})).toThrow(
      PermanentGenerationError,
    );
  });

  it("lists the generators a batch may ask for", () => {
    expect(listAvailableGenerators({})).toEqual(["simulated"]);
    expect(listAvailableGenerators({ openai: { model: "m" } })).toEqual([
      "simulated",
      "openai",
    ]);
  });
});

describe("classifyGenerationError", () => {
  it("maps the error classes, and anything unknown to transient", () => {
    expect(
      classifyGenerationError(
        new TransientGenerationError("429", { retryAfterMs: 10 }),
      ),
    ).toBe("transient");
    expect(classifyGenerationError(new PermanentGenerationError("401"))).toBe(
      "permanent",
    );
    expect(classifyGenerationError(new GenerationAbortedError())).toBe(
      "aborted",
    );
    expect(classifyGenerationError(new TypeError("boom"))).toBe("transient");
    expect(classifyGenerationError("a string")).toBe("transient");
  });
});
