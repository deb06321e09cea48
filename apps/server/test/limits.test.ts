import type { BatchDetail } from "@batchgen/types";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DEFAULT_PIPELINE_SETTINGS } from "../src/container.ts";
import { startPipelineHarness, type PipelineHarness } from "./support/pipeline.ts";

let h: PipelineHarness;
beforeAll(async () => {
  h = await startPipelineHarness({
    simulated: { latencyMedianMs: 500 },
    settings: {
      limits: { create: { burst: 2, perMinute: 6 }, control: { burst: 3, perMinute: 6 }, streamsPerUser: 2 },
      runner: { ...DEFAULT_PIPELINE_SETTINGS.runner },
    },
  });
});
afterAll(async () => {
  await h?.close();
});

const body = { topic: "Dermatology", questionType: "single_best_answer", difficulty: "easy", count: 50, concurrency: 1 };

describe("limits that protect the service", () => {
  it("batch creation is rate limited per user: 429 RATE_LIMITED with Retry-After, and other users are unaffected", async () => {
    const user = await h.createUser("faculty");
    expect((await h.api(user, "POST", "/api/v1/generation/batch", body)).status).toBe(201);
    expect((await h.api(user, "POST", "/api/v1/generation/batch", body)).status).toBe(201);
    const response = await fetch(`${h.apiUrl}/api/v1/generation/batch`, {
      method: "POST",
      headers: { Authorization: `Bearer ${user.token}`, "Content-Type": "application/json" },
      body: JSON.stringify(body),
    });
    expect(response.status).toBe(429);
    expect(Number(response.headers.get("retry-after"))).toBeGreaterThanOrEqual(1);
    expect(((await response.json()) as { error: { code: string } }).error.code).toBe("RATE_LIMITED");
    const other = await h.createUser("faculty");
    expect((await h.api(other, "POST", "/api/v1/generation/batch", body)).status).toBe(201);
  });

  it("control requests are rate limited per user, and a limited request changes nothing", async () => {
    const user = await h.createUser("faculty");
    const created = await h.api<BatchDetail>(user, "POST", "/api/v1/generation/batch", body);
    const batchId = created.body.data.id;
    const statuses: number[] = [];
    for (const action of ["pause", "resume", "pause", "resume"]) {
      statuses.push((await h.api(user, "POST", `/api/v1/generation/batch/${batchId}/${action}`)).status);
    }
    expect(statuses).toEqual([200, 200, 200, 429]);
    const { rows } = await h.pool.query<{ status: string }>("SELECT status FROM batch_jobs WHERE id = $1", [batchId]);
    expect(rows[0]?.status).toBe("paused");
  });

  it("at most N live streams per user; closing one frees the slot", async () => {
    const user = await h.createUser("faculty");
    const created = await h.api<BatchDetail>(user, "POST", "/api/v1/generation/batch", body);
    const url = `${h.apiUrl}/api/v1/generation/batch/${created.body.data.id}/stream`;
    const open = async () => {
      const controller = new AbortController();
      const response = await fetch(url, { headers: { Authorization: `Bearer ${user.token}` }, signal: controller.signal });
      return { response, controller };
    };
    const first = await open();
    const second = await open();
    expect([first.response.status, second.response.status]).toEqual([200, 200]);
    const third = await open();
    expect(third.response.status).toBe(429);
    first.controller.abort();
    await new Promise((resolve) => setTimeout(resolve, 200));
    const fourth = await open();
    expect(fourth.response.status).toBe(200);
    second.controller.abort();
    fourth.controller.abort();
  });
});
