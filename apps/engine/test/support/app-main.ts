/**
 * A small app run as a child process by the kill tests: real SDK functions served with
 * inngest/express. Every step execution is appended to EXEC_LOG so the test can prove that no
 * step whose result was committed ever runs again.
 */
import { appendFileSync } from "node:fs";
import { Inngest } from "inngest";
import { serveFunctions } from "./serve-app.ts";

const logFile = process.env.EXEC_LOG ?? "/dev/null";
const client = new Inngest({
  id: "durable-app",
  logger: { info: () => undefined, warn: () => undefined, error: () => undefined, debug: () => undefined },
});

const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function record(runId: string, step: string): void {
  appendFileSync(logFile, `${JSON.stringify({ runId, step, at: Date.now(), pid: process.pid })}\n`);
}

const durable = client.createFunction({ id: "durable", triggers: [{ event: "test/durable" }] }, async ({ event, step, runId }) => {
  const id = String(event.data.id);
  const work = (name: string) =>
    step.run(name, async () => {
      record(runId, name);
      await pause(Math.floor(Math.random() * 60));
      return `${name}:${id}`;
    });
  const a = await work("a");
  const parts = await Promise.all([work("p1"), work("p2"), work("p3")]);
  const approval = await step.waitForEvent("approval", { event: "test/resume", match: "data.id", timeout: "10m" });
  await step.sleep("nap", "1s");
  const b = await work("b");
  const c = await work("c");
  return { a, parts, approvedBy: approval ? (approval.data.by as string) : null, b, c };
});

const app = await serveFunctions(client, [durable], Number(process.env.PORT));
process.on("SIGTERM", () => {
  void app.close().then(() => process.exit(0));
});
console.log(`app ready at ${app.url}`);
