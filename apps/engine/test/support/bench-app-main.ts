/** The app the engine benchmark drives, run as its own process: one function of no-op steps. */
import { Inngest } from "inngest";
import { serveFunctions } from "./serve-app.ts";

const client = new Inngest({
  id: "bench",
  logger: { info: () => undefined, warn: () => undefined, error: () => undefined, debug: () => undefined },
});

const now = () => performance.timeOrigin + performance.now();

const noop = client.createFunction({ id: "noop", triggers: [{ event: "bench/noop" }] }, async ({ event, step }) => {
  const stamps: number[] = [];
  for (let i = 0; i < Number(event.data.steps); i += 1) stamps.push(await step.run(`s${i}`, () => now()));
  return stamps;
});

const app = await serveFunctions(client, [noop], Number(process.env.PORT));
console.log(`bench app ready at ${app.url}`);
