import { randomUUID } from "node:crypto";
import { mkdir, rm, writeFile } from "node:fs/promises";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { ESLint } from "eslint";
import { afterAll, describe, expect, it } from "vitest";

// docs/architecture.md, "Layers": eslint.config.js enforces the import layers with
// import-x/no-restricted-paths and import circles with import-x/no-cycle. These cases prove both
// fire on the real config, and that an import pointing down passes.
const root = resolve(dirname(fileURLToPath(import.meta.url)), "../../../..");
const LAYER_RULES = new Set(["import-x/no-restricted-paths", "import-x/no-cycle", "import-x/no-unresolved"]);

// The real config (its zones, resolver and parser), running only the import rules. They need no
// type information, so the project service is off: it would refuse the probe files, which are not on disk.
const eslint = new ESLint({
  cwd: root,
  overrideConfigFile: join(root, "eslint.config.js"),
  overrideConfig: { languageOptions: { parserOptions: { projectService: false } } },
  ruleFilter: ({ ruleId }) => LAYER_RULES.has(ruleId),
});

async function lint(file: string, code: string) {
  const [result] = await eslint.lintText(code, { filePath: join(root, file) });
  return (result?.messages ?? []).map(({ ruleId, message }) => ({ ruleId, message }));
}

const upward = [
  ["apps/server/src/repositories/layer-probe.ts", "../services/generation/batch.service.js", "repositories"],
  ["apps/server/src/services/layer-probe.ts", "../controllers/generation/batch.controller.ts", "services"],
  ["apps/server/src/lib/layer-probe.ts", "../container.ts", "lib"],
  ["apps/engine/src/store/layer-probe.ts", "../executor/handle.ts", "store"],
  ["apps/engine/src/executor/layer-probe.ts", "../queue/worker.ts", "executor"],
  ["apps/web/src/lib/layer-probe.ts", "@/components/ui/button", "lib"],
  ["apps/web/src/components/ui/layer-probe.ts", "@/components/generation/batch-format", "components/ui"],
  ["packages/types/src/layer-probe.ts", "../../../apps/server/src/config.ts", "packages/types"],
] as const;

const downward = [
  ["apps/server/src/services/layer-probe.ts", "../repositories/batch-job.repository.js"],
  ["apps/server/src/controllers/layer-probe.ts", "../services/generation/batch.service.ts"],
  ["apps/server/src/repositories/layer-probe.ts", "../lib/idempotency.ts"],
  ["apps/engine/src/api/layer-probe.ts", "../store/tx.ts"],
  ["apps/web/src/components/generation/layer-probe.ts", "@/lib/utils"],
  ["packages/types/src/layer-probe.ts", "./generation/index.ts"],
] as const;

describe("import layers (eslint.config.js)", () => {
  it.each(upward)("%s may not import %s", async (file, specifier, layer) => {
    const messages = await lint(file, `import * as above from "${specifier}";\nexport const probe = above;\n`);
    expect(messages).toEqual([expect.objectContaining({ ruleId: "import-x/no-restricted-paths" })]);
    expect(messages[0]?.message).toContain(layer);
  });

  it.each(downward)("%s may import %s", async (file, specifier) => {
    expect(await lint(file, `import * as below from "${specifier}";\nexport const probe = below;\n`)).toEqual([]);
  });

  // no-cycle follows imports on disk, so the pair is written for real, inside a layer, and removed
  // even if the test fails (afterAll covers a crash between writing and linting).
  const cycleDir = join(root, "apps/server/src/lib", `layer-cycle-probe-${randomUUID()}`);
  afterAll(() => rm(cycleDir, { recursive: true, force: true }));

  it("an import circle is an error", async () => {
    await mkdir(cycleDir, { recursive: true });
    try {
      await writeFile(join(cycleDir, "a.ts"), 'import { b } from "./b.ts";\nexport const a = (): number => b() + 1;\n');
      await writeFile(join(cycleDir, "b.ts"), 'import { a } from "./a.ts";\nexport const b = (): number => a() - 1;\n');
      const [result] = await eslint.lintFiles([join(cycleDir, "a.ts")]);
      expect(result?.messages.map(({ ruleId }) => ruleId)).toEqual(["import-x/no-cycle"]);
    } finally {
      await rm(cycleDir, { recursive: true, force: true });
    }
  });
});
