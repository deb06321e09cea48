/**
 * Every vitest project in the repo. The root vitest.config.ts reads this list
 * (vitest 4 takes it through `test.projects`); each entry has its own config.
 */
export const projects = [
  "packages/types",
  "packages/db",
  "apps/auth",
  "apps/engine",
  "apps/server",
  "apps/web",
];
