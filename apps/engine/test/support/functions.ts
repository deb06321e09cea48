import { NonRetriableError, RetryAfterError, StepError, type Inngest } from "inngest";

type Client = Inngest.Any;

/** What the test functions report back to the test, through the app's memory. */
export class Probe {
  readonly executions: { runId: string; step: string; at: number }[] = [];
  readonly attempts = new Map<string, number>();
  readonly active = new Map<string, number>();
  readonly maxActive = new Map<string, number>();
  readonly failures: { runId: string; message: string; originalEvent: string }[] = [];
  private readonly gates = new Map<string, () => void>();
  private readonly gateWaiters = new Map<string, Promise<void>>();

  record(runId: string, step: string): void {
    this.executions.push({ runId, step, at: Date.now() });
  }

  ran(runId: string, step: string): number {
    return this.executions.filter((entry) => entry.runId === runId && entry.step === step).length;
  }

  /** A promise the function awaits until the test calls open(name). */
  gate(name: string): Promise<void> {
    let waiter = this.gateWaiters.get(name);
    if (!waiter) {
      waiter = new Promise<void>((resolve) => this.gates.set(name, resolve));
      this.gateWaiters.set(name, waiter);
    }
    return waiter;
  }

  open(name: string): void {
    void this.gate(name);
    this.gates.get(name)?.();
  }
}

const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export function createConformanceFunctions(inngest: Client, probe: Probe) {
  const sequential = inngest.createFunction(
    { id: "sequential", triggers: [{ event: "test/sequential" }] },
    async ({ event, step, runId }) => {
      const a = await step.run("a", () => {
        probe.record(runId, "a");
        return `a:${event.data.n}`;
      });
      const b = await step.run("b", () => {
        probe.record(runId, "b");
        return `${a}+b`;
      });
      const c = await step.run("c", () => {
        probe.record(runId, "c");
        return `${b}+c`;
      });
      return { c };
    },
  );

  const parallel = inngest.createFunction({ id: "parallel", triggers: [{ event: "test/parallel" }] }, async ({ step, runId }) => {
    const parts = await Promise.all(
      ["x", "y", "z"].map((name, index) =>
        step.run(`part-${name}`, async () => {
          probe.record(runId, `part-${name}`);
          await pause(30 * (3 - index));
          return name.toUpperCase();
        }),
      ),
    );
    const joined = await step.run("join", () => parts.join(""));
    return { parts, joined };
  });

  const sleeper = inngest.createFunction({ id: "sleeper", triggers: [{ event: "test/sleep" }] }, async ({ step }) => {
    const before = await step.run("before", () => Date.now());
    await step.sleep("nap", "1s");
    const after = await step.run("after", () => Date.now());
    return { slept: after - before >= 1000 };
  });

  const sleeperUntil = inngest.createFunction({ id: "sleeper-until", triggers: [{ event: "test/sleep-until" }] }, async ({ event, step }) => {
    const wakeAt = Number(event.data.wakeAt);
    await step.sleepUntil("until", new Date(wakeAt));
    return await step.run("after", () => Date.now() >= wakeAt);
  });

  const waiter = inngest.createFunction({ id: "waiter", triggers: [{ event: "test/wait" }] }, async ({ event, step, runId }) => {
    await step.run("gate", async () => {
      probe.record(runId, "gate");
      if (event.data.gated) await probe.gate(`wait-${event.data.id}`);
      return true;
    });
    const approval = await step.waitForEvent("approval", { event: "test/approve", match: "data.id", timeout: event.data.timeout ?? "1m" });
    return { approvedBy: approval ? (approval.data.by as string) : null };
  });

  const waiterIf = inngest.createFunction({ id: "waiter-if", triggers: [{ event: "test/wait-if" }] }, async ({ event, step }) => {
    const approval = await step.waitForEvent("approval", {
      event: "test/approve-if",
      if: `async.data.id == event.data.id && async.data.level >= ${Number(event.data.minLevel)}`,
      timeout: "1m",
    });
    return { level: approval?.data.level ?? null };
  });

  const sender = inngest.createFunction({ id: "sender", triggers: [{ event: "test/send" }] }, async ({ event, step }) => {
    const sent = await step.sendEvent("notify", { name: "test/child", data: { parent: event.data.id } });
    return { sentIds: sent.ids };
  });

  const child = inngest.createFunction({ id: "child", triggers: [{ event: "test/child" }] }, async ({ event, step }) => {
    return await step.run("greet", () => `child of ${event.data.parent}`);
  });

  const cancellable = inngest.createFunction(
    { id: "cancellable", triggers: [{ event: "test/cancellable" }], cancelOn: [{ event: "test/cancel", match: "data.id" }] },
    async ({ event, step, runId }) => {
      await step.run("slow", async () => {
        probe.record(runId, "slow-started");
        if (event.data.slow) await probe.gate(`slow-${event.data.id}`);
        probe.record(runId, "slow-finished");
        return true;
      });
      await step.waitForEvent("never", { event: "test/never", timeout: "1m" });
      await step.run("after", () => probe.record(runId, "after"));
      return "not cancelled";
    },
  );

  const flaky = inngest.createFunction({ id: "flaky", triggers: [{ event: "test/flaky" }], retries: 4 }, async ({ step, runId }) => {
    return await step.run("flaky-step", () => {
      const seen = (probe.attempts.get(runId) ?? 0) + 1;
      probe.attempts.set(runId, seen);
      if (seen < 3) throw new Error(`transient failure ${seen}`);
      return { succeededOnAttempt: seen };
    });
  });

  const retryAfter = inngest.createFunction(
    { id: "retry-after", triggers: [{ event: "test/retry-after" }], retries: 2 },
    async ({ step, runId }) => {
      return await step.run("limited", () => {
        const seen = (probe.attempts.get(runId) ?? 0) + 1;
        probe.attempts.set(runId, seen);
        probe.record(runId, "limited");
        if (seen < 2) throw new RetryAfterError("rate limited", "1s");
        return seen;
      });
    },
  );

  const fatal = inngest.createFunction({ id: "fatal", triggers: [{ event: "test/fatal" }], retries: 4 }, async ({ step, runId }) => {
    await step.run("doomed", () => {
      probe.record(runId, "doomed");
      throw new NonRetriableError("this cannot work");
    });
    return "unreachable";
  });

  const caught = inngest.createFunction({ id: "caught", triggers: [{ event: "test/caught" }], retries: 1 }, async ({ step }) => {
    try {
      await step.run("always-fails", () => {
        throw new Error("boom");
      });
      return "no error";
    } catch (error) {
      return { isStepError: error instanceof StepError, message: (error as Error).message };
    }
  });

  const failing = inngest.createFunction(
    {
      id: "failing",
      triggers: [{ event: "test/failing" }],
      retries: 0,
      onFailure: ({ event, error, runId }) => {
        probe.failures.push({ runId, message: error.message, originalEvent: event.data.event.name });
        return { handled: error.message };
      },
    },
    async ({ step }) => {
      await step.run("fine", () => "ok");
      throw new Error("the function gave up");
    },
  );

  const limited = inngest.createFunction(
    { id: "limited", triggers: [{ event: "test/limited" }], concurrency: { limit: 2, key: "event.data.key" } },
    async ({ event, step }) => {
      const key = String(event.data.key);
      await step.run("work", async () => {
        const now = (probe.active.get(key) ?? 0) + 1;
        probe.active.set(key, now);
        probe.maxActive.set(key, Math.max(probe.maxActive.get(key) ?? 0, now));
        await pause(250);
        probe.active.set(key, (probe.active.get(key) ?? 1) - 1);
      });
      return key;
    },
  );

  const manySteps = inngest.createFunction({ id: "many-steps", triggers: [{ event: "test/many" }] }, async ({ event, step }) => {
    const count = Number(event.data.count);
    if (event.data.parallel) {
      const all = await Promise.all(Array.from({ length: count }, (_, i) => step.run(`p${i}`, () => 1)));
      return all.length;
    }
    let total = 0;
    for (let i = 0; i < count; i += 1) total += await step.run(`s${i}`, () => 1);
    if (event.data.sleepAfter) await step.sleep("rest", "1s");
    return total;
  });

  const bigOutput = inngest.createFunction({ id: "big-output", triggers: [{ event: "test/big" }] }, async ({ step }) => {
    await step.run("huge", () => "x".repeat(5 * 1024 * 1024));
    return "unreachable";
  });

  const filtered = inngest.createFunction(
    { id: "filtered", triggers: [{ event: "test/filtered", if: "event.data.priority > 5" }] },
    ({ event }) => {
      return event.data.priority as number;
    },
  );

  // The documented way around the lost wakeup: wait in parallel with the step that makes the
  // other party answer, so the wait exists before the answer can arrive.
  const handshake = inngest.createFunction({ id: "handshake", triggers: [{ event: "test/handshake" }] }, async ({ event, step }) => {
    const [, reply] = await Promise.all([
      step.run("ask", async () => {
        await inngest.send({ name: "test/ask", data: { id: event.data.id } });
        return true;
      }),
      step.waitForEvent("reply", { event: "test/reply", match: "data.id", timeout: "30s" }),
    ]);
    const after = await step.run("after", () => "done");
    return { by: reply ? (reply.data.by as string) : null, after };
  });

  const responder = inngest.createFunction({ id: "responder", triggers: [{ event: "test/ask" }] }, async ({ event, step }) => {
    await step.sendEvent("reply", { name: "test/reply", data: { id: event.data.id, by: "responder" } });
  });

  const invoker = inngest.createFunction({ id: "invoker", triggers: [{ event: "test/invoke" }] }, async ({ step }) => {
    return await step.invoke("call-child", { function: child, data: { parent: "invoker" } });
  });

  return [
    invoker,
    handshake,
    responder,
    sequential,
    parallel,
    sleeper,
    sleeperUntil,
    waiter,
    waiterIf,
    sender,
    child,
    cancellable,
    flaky,
    retryAfter,
    fatal,
    caught,
    failing,
    limited,
    manySteps,
    bigOutput,
    filtered,
  ];
}
