import { existsSync, readdirSync, readFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";

// docs/decisions/dependency-build-scripts.md: every installed package with an install script is
// either allowed (`pnpm.onlyBuiltDependencies`) or deliberately ignored (`ignoredBuiltDependencies`),
// so `pnpm install` has nothing left to warn about.
const root = resolve(dirname(fileURLToPath(import.meta.url)), "../../../..");
const LIFECYCLE = ["preinstall", "install", "postinstall"] as const;

interface Manifest {
  name: string;
  version: string;
  scripts?: Record<string, string>;
  pnpm?: { onlyBuiltDependencies?: string[]; ignoredBuiltDependencies?: string[] };
}

/** Every package in pnpm's virtual store that pnpm would run a build for (a lifecycle script or a binding.gyp). */
function packagesWithBuilds(): Map<string, string> {
  const store = join(root, "node_modules/.pnpm");
  const found = new Map<string, string>();
  for (const entry of readdirSync(store)) {
    const modules = join(store, entry, "node_modules");
    if (!existsSync(modules)) continue;
    for (const scopeOrName of readdirSync(modules)) {
      const dirs = scopeOrName.startsWith("@") ? readdirSync(join(modules, scopeOrName)).map((name) => join(scopeOrName, name)) : [scopeOrName];
      for (const dir of dirs) {
        const manifestPath = join(modules, dir, "package.json");
        if (!existsSync(manifestPath)) continue;
        const manifest = JSON.parse(readFileSync(manifestPath, "utf8")) as Manifest;
        // Only the package this store entry is for, not the dependencies linked beside it.
        if (!entry.startsWith(`${manifest.name.replace("/", "+")}@`)) continue;
        const script = LIFECYCLE.find((name) => manifest.scripts?.[name]);
        if (script) found.set(manifest.name, `${manifest.name}@${manifest.version} (${script})`);
        else if (existsSync(join(modules, dir, "binding.gyp"))) found.set(manifest.name, `${manifest.name}@${manifest.version} (binding.gyp)`);
      }
    }
  }
  return found;
}

describe("dependency build scripts", () => {
  const manifest = JSON.parse(readFileSync(join(root, "package.json"), "utf8")) as Manifest;
  const allowed = manifest.pnpm?.onlyBuiltDependencies ?? [];
  const ignored = manifest.pnpm?.ignoredBuiltDependencies ?? [];
  const builds = packagesWithBuilds();

  it("every installed package with a build script is decided: allowed or ignored in the root package.json", () => {
    const undecided = [...builds.entries()].filter(([name]) => !allowed.includes(name) && !ignored.includes(name)).map(([, what]) => what);
    expect(undecided).toEqual([]);
  });

  it("lists no package twice and no package that has no build script to decide about", () => {
    expect(allowed.filter((name) => ignored.includes(name))).toEqual([]);
    expect([...allowed, ...ignored].filter((name) => !builds.has(name))).toEqual([]);
  });
});
