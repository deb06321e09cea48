import type { Express } from "express";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import request from "supertest";
import { startPipelineHarness, type PipelineHarness } from "./support/pipeline.ts";
import { createApp } from "../src/app.ts";

interface Layer {
  route?: { path: string; methods: Record<string, boolean> };
  handle?: { stack?: Layer[] };
  name?: string;
  /** The mount path given to app.use() (Express 5 / router 2). */
  rawPath?: string;
}

/** Every (method, path) the Express app serves under /api/v1, plus the top-level routes. */
function routesOf(app: Express): string[] {
  const found: string[] = [];
  const walk = (stack: Layer[], prefix: string) => {
    for (const layer of stack) {
      if (layer.route) {
        for (const method of Object.keys(layer.route.methods)) found.push(`${method.toUpperCase()} ${prefix}${layer.route.path}`);
      } else if (layer.name === "router" && layer.handle?.stack) {
        const mount = layer.rawPath && layer.rawPath !== "/" ? layer.rawPath : "";
        walk(layer.handle.stack, `${prefix}${mount}`);
      }
    }
  };
  walk((app as unknown as { router: { stack: Layer[] } }).router.stack, "");
  return found;
}

let h: PipelineHarness;
beforeAll(async () => {
  h = await startPipelineHarness();
});
afterAll(async () => {
  await h?.close();
});

describe("GET /openapi.json", () => {
  it("documents every route the API serves, with the control contract", async () => {
    const app = createApp({ pool: h.pool, logger: (await import("pino")).pino({ level: "silent" }), verifyToken: () => Promise.reject(new Error("unused")), pipeline: h.pipeline, logRequests: false });
    const response = await request(app).get("/openapi.json");
    expect(response.status).toBe(200);
    const doc = response.body as { openapi: string; paths: Record<string, Record<string, unknown>> };
    expect(doc.openapi).toBe("3.0.3");
    const documented = new Set(
      Object.entries(doc.paths).flatMap(([path, operations]) => Object.keys(operations).map((method) => `${method.toUpperCase()} ${path.replace(/\{(\w+)\}/g, ":$1")}`)),
    );
    const served = routesOf(app).filter((route) => !route.includes("/api/inngest"));
    expect(served.length).toBeGreaterThanOrEqual(12);
    for (const route of served) expect(documented, route).toContain(route);
    for (const action of ["pause", "resume", "cancel", "retry-failed"]) {
      const op = doc.paths[`/api/v1/generation/batch/{batchId}/${action}`]?.post as { responses: Record<string, unknown> };
      expect(Object.keys(op.responses).sort()).toEqual(["200", "400", "401", "403", "404", "409", "422", "503"]);
    }
    const create = doc.paths["/api/v1/generation/batch"]?.post as { parameters: { name: string; in: string }[]; responses: Record<string, unknown> };
    expect(create.parameters).toContainEqual(expect.objectContaining({ name: "Idempotency-Key", in: "header" }));
    expect(Object.keys(create.responses).sort()).toEqual(["201", "400", "401", "403", "422", "503"]);
  });
});
