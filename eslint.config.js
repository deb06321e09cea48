import js from "@eslint/js";
import { createTypeScriptImportResolver } from "eslint-import-resolver-typescript";
import { importX } from "eslint-plugin-import-x";
import jsxA11y from "eslint-plugin-jsx-a11y";
import reactHooks from "eslint-plugin-react-hooks";
import globals from "globals";
import tseslint from "typescript-eslint";

/**
 * Import layers (docs/architecture.md, "Layers"; docs/decisions/import-layers-lint.md). Each list
 * runs from the top layer down, entries in the same inner list share a layer, and paths are
 * relative to the repository root. A file may import its own layer and the layers below it, never
 * one above. `import-x/no-cycle` keeps imports within a layer from going round in a circle.
 */
const LAYERS = {
  "apps/server/src": [
    ["index.ts"],
    ["app.ts"],
    ["container.ts"],
    ["routes"],
    ["controllers", "inngest/functions"],
    ["services"],
    ["repositories"],
    [
      "lib",
      "middleware",
      "generators",
      "errors",
      "config.ts",
      "auth",
      "openapi.ts",
      "inngest/client.ts",
      "inngest/events.ts",
      "express.d.ts",
    ],
  ],
  "apps/engine/src": [
    ["index.ts", "cli.ts"],
    ["engine.ts"],
    ["api", "queue"],
    ["executor"],
    ["store"],
    ["match", "config.ts"],
  ],
  "apps/web/src": [
    ["app"],
    ["components/auth", "components/generation", "components/layout"],
    ["components/ui"],
    ["lib"],
  ],
};

/** One `import-x/no-restricted-paths` zone per layer: it may not import any layer above it. */
const layerZones = Object.entries(LAYERS).flatMap(([base, layers]) =>
  layers.slice(1).map((layer, index) => {
    const above = layers.slice(0, index + 1).flat();
    return {
      target: layer.map((entry) => `${base}/${entry}`),
      from: above.map((entry) => `${base}/${entry}`),
      message: `In ${base}, ${layer.join(", ")} may not import ${above.join(", ")} (a layer above): imports point down only (docs/architecture.md, "Layers").`,
    };
  }),
);

/** Source the layer rules look at: every app's and package's `src`, tests included (they sit in no layer). */
const LAYERED_SOURCE = ["apps/*/src/**/*.{ts,tsx}", "packages/*/src/**/*.ts"];

export default tseslint.config(
  {
    ignores: [
      "**/node_modules/**",
      "**/.next/**",
      "**/.next-e2e/**",
      "**/dist/**",
      "**/.turbo/**",
      ".data/**",
      "**/next-env.d.ts",
      "test-results/**",
      ".test-results/**",
      "playwright-report/**",
    ],
  },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      globals: { ...globals.node },
      parserOptions: {
        projectService: true,
        tsconfigRootDir: import.meta.dirname,
      },
    },
    rules: {
      "@typescript-eslint/no-floating-promises": "error",
      "@typescript-eslint/no-misused-promises": ["error", { checksVoidReturn: { arguments: false } }],
      "@typescript-eslint/no-unused-vars": ["error", { argsIgnorePattern: "^_", varsIgnorePattern: "^_" }],
      "@typescript-eslint/consistent-type-imports": "error",
    },
  },
  {
    files: ["**/*.js", "**/*.mjs", "**/*.cjs"],
    ...tseslint.configs.disableTypeChecked,
  },
  {
    files: ["apps/web/**/*.{ts,tsx}"],
    plugins: { "jsx-a11y": jsxA11y, "react-hooks": reactHooks },
    languageOptions: { globals: { ...globals.browser } },
    rules: {
      ...jsxA11y.configs.recommended.rules,
      ...reactHooks.configs.recommended.rules,
    },
  },
  {
    files: LAYERED_SOURCE,
    plugins: { "import-x": importX },
    settings: {
      // Without this, import-x reads only .js files when it follows imports (no-cycle would see nothing).
      "import-x/extensions": [".ts", ".tsx", ".js", ".mjs", ".cjs"],
      "import-x/external-module-folders": ["node_modules", "node_modules/@types"],
      // Resolves as TypeScript does: `.ts` specifiers, `.js` written for a `.ts` file, the web app's `@/` paths.
      "import-x/resolver-next": [
        createTypeScriptImportResolver({
          project: ["apps/*/tsconfig.json", "packages/*/tsconfig.json"].map((glob) => `${import.meta.dirname}/${glob}`),
          noWarnOnMultipleProjects: true,
        }),
      ],
    },
    rules: {
      // The layer zones skip an import they cannot resolve, so an unresolved import is an error here.
      "import-x/no-unresolved": "error",
      "import-x/no-restricted-paths": [
        "error",
        {
          basePath: import.meta.dirname,
          zones: [
            ...layerZones,
            {
              target: "packages/types",
              from: "apps",
              message: "packages/types sits below everything: it imports nothing from the apps.",
            },
            {
              target: "packages/types",
              from: "packages",
              except: ["./types"],
              message: "packages/types sits below everything: it imports nothing from the other packages.",
            },
          ],
        },
      ],
      "import-x/no-cycle": ["error", { ignoreExternal: true }],
    },
  },
  {
    files: ["**/*.test.ts", "**/*.test.tsx", "**/test/**", "e2e/**", "bench/**"],
    rules: {
      "@typescript-eslint/no-unsafe-member-access": "off",
      "@typescript-eslint/no-unsafe-assignment": "off",
      "@typescript-eslint/no-unsafe-call": "off",
      "@typescript-eslint/no-unsafe-argument": "off",
      "@typescript-eslint/no-non-null-assertion": "off",
    },
  },
);
