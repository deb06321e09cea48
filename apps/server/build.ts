import { copyFile, mkdir, rm } from "node:fs/promises";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { build, type Plugin } from "esbuild";

// `pnpm build` for the API: plain JavaScript in dist/, run with `node dist/index.js` (pnpm start:prod).
// Our workspace packages (@batchgen/db, @batchgen/types) are TypeScript sources, so they are bundled
// in; every npm dependency stays an import, resolved from node_modules at run time (production
// dependencies only). The simulated question bank is data read next to its module at run time.
const HERE = path.dirname(fileURLToPath(import.meta.url));
const DIST = path.join(HERE, "dist");

/** Bare imports other than our own workspace packages are left to node_modules. */
const externalNpmPackages: Plugin = {
  name: "external-npm-packages",
  setup(context) {
    context.onResolve({ filter: /^[^./]/ }, (args) => (args.path.startsWith("@batchgen/") ? undefined : { path: args.path, external: true }));
  },
};

await rm(DIST, { recursive: true, force: true });
await mkdir(DIST, { recursive: true });
const result = await build({
  entryPoints: [path.join(HERE, "src", "index.ts")],
  outfile: path.join(DIST, "index.js"),
  bundle: true,
  platform: "node",
  format: "esm",
  target: "node20",
  sourcemap: true,
  logLevel: "warning",
  metafile: true,
  plugins: [externalNpmPackages],
});
await copyFile(path.join(HERE, "src", "generators", "simulated-question-bank.json"), path.join(DIST, "simulated-question-bank.json"));
const external = new Set(Object.values(result.metafile.outputs).flatMap((output) => output.imports.filter((entry) => entry.external).map((entry) => entry.path)));
process.stdout.write(`dist/index.js built; imports at run time: ${[...external].sort().join(", ")}\n`);
