import type { IncomingMessage, ServerResponse } from "node:http";
import { Writable } from "node:stream";
import express from "express";
import { pino } from "pino";
import request from "supertest";
import { describe, expect, it } from "vitest";
import { requestLogLevel } from "../src/app.ts";

// The engine syncs the app every 10 s and calls /api/inngest for every step: `pnpm dev` must not
// print a line for each of those (a change is news, a heartbeat is not).

function levelFor(originalUrl: string, statusCode: number): string {
  // Inside a mounted router Express has rewritten req.url; originalUrl keeps what the client sent.
  const req = { url: "/", originalUrl, method: "PUT" } as unknown as IncomingMessage;
  return requestLogLevel(req, { statusCode } as ServerResponse);
}

describe("request log levels", () => {
  it("the engine's sync and step calls and health probes are debug when they succeed, whatever Express did to req.url", () => {
    expect(levelFor("/api/inngest", 200)).toBe("debug");
    expect(levelFor("/api/inngest?fnId=batchgen-batch-generate&stepId=step", 206)).toBe("debug");
    expect(levelFor("/health", 200)).toBe("debug");
    expect(levelFor("/api/v1/generation/batch", 201)).toBe("info");
  });

  it("failures stay visible: a 5xx from the serve handler is an error, a 503 a warning, a 4xx a warning", () => {
    expect(levelFor("/api/inngest", 500)).toBe("error");
    expect(levelFor("/health", 503)).toBe("warn");
    expect(levelFor("/api/inngest", 401)).toBe("warn");
  });

  it("through a real mounted router, a sync PUT logs nothing at the info level pnpm dev uses", async () => {
    const lines: string[] = [];
    const sink = new Writable({
      write(chunk: Buffer, _encoding, done) {
        lines.push(chunk.toString("utf8"));
        done();
      },
    });
    const { pinoHttp } = await import("pino-http");
    const app = express();
    app.use(pinoHttp({ logger: pino({ level: "info" }, sink), customLogLevel: requestLogLevel }));
    const inngest = express.Router();
    inngest.put("/", (_req, res) => {
      res.json({ ok: true });
    });
    app.use("/api/inngest", inngest);
    app.get("/api/v1/me", (_req, res) => {
      res.json({ ok: true });
    });
    await request(app).put("/api/inngest");
    expect(lines).toEqual([]);
    await request(app).get("/api/v1/me");
    expect(lines).toHaveLength(1);
  });
});
