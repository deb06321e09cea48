import type { TestProject } from "vitest/node";
import { startTestCluster } from "./testing.ts";

/** One throwaway cluster per vitest project; each test file clones its own database. Vitest calls the returned teardown. */
export async function setup(project: TestProject): Promise<() => Promise<void>> {
  const cluster = await startTestCluster();
  project.provide("pgAdminUrl", cluster.adminUrl);
  return () => cluster.stop();
}
