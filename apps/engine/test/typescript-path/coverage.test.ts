import { readdirSync } from "node:fs";
import { describe, expect, it } from "vitest";

describe("the TypeScript-path run of the conformance suite", () => {
  it("covers every conformance test file", () => {
    const suite = readdirSync(new URL("..", import.meta.url)).filter((name) => name.endsWith(".test.ts"));
    const again = readdirSync(new URL(".", import.meta.url)).filter((name) => name.endsWith(".test.ts") && name !== "coverage.test.ts");
    expect(again.sort()).toEqual(suite.sort());
  });
});
