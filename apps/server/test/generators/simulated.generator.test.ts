import {
  DIFFICULTIES,
  QUESTION_OPTION_LABELS,
  QUESTION_TYPES,
  generatedQuestionSchema,
} from "@batchgen/types";
import { describe, expect, it } from "vitest";
import {
  GenerationAbortedError,
  PermanentGenerationError,
  TransientGenerationError,
  type GenerationInput,
} from "../../src/generators/generator.ts";
import { SimulatedGenerator } from "../../src/generators/simulated.generator.ts";

const BATCH_ID = "6f1c2a4e-2d9b-4c51-9a43-0f6f0c1d2e3a";

function inputFor(
  position: number,
  overrides: Partial<GenerationInput> = {},
): GenerationInput {
  return {
    batchId: BATCH_ID,
    position,
    topic: "Cardiology",
    questionType: "clinical_vignette",
    difficulty: "medium",
    attempt: 1,
    ...overrides,
  };
}

const instant = (): SimulatedGenerator =>
  new SimulatedGenerator({
    latencyMedianMs: 0,
    transientFailureRate: 0,
    permanentFailureRate: 0,
  });

describe("SimulatedGenerator — determinism", () => {
  it("returns the same question for the same batch, position and config", async () => {
    const a = await instant().generate(inputFor(7));
    const b = await instant().generate(inputFor(7));
    expect(a).toEqual(b);
  });

  it("returns the same question on a retry (content does not depend on the attempt)", async () => {
    const first = await instant().generate(inputFor(3, { attempt: 1 }));
    const retry = await instant().generate(inputFor(3, { attempt: 4 }));
    expect(retry).toEqual(first);
  });

  it("varies across positions and across batches", async () => {
    const generator = instant();
    const stems = new Set<string>();
    for (let position = 0; position < 60; position++)
      stems.add((await generator.generate(inputFor(position))).stem);
    expect(stems.size).toBeGreaterThan(40);

    const other = await generator.generate(
      inputFor(0, { batchId: "0b7d6c1e-98a2-4e0f-b5b3-1c2d3e4f5a6b" }),
    );
    const sameBatch = await generator.generate(inputFor(0));
    const others = await Promise.all(
      [1, 2, 3].map((n) =>
        generator.generate(inputFor(0, { batchId: `batch-${n}` })),
      ),
    );
    expect(
      new Set([sameBatch, other, ...others].map((q) => JSON.stringify(q))).size,
    ).toBeGreaterThan(1);
  });

  it("draws the same latency and outcome for the same attempt, independently per attempt", () => {
    const generator = new SimulatedGenerator({
      latencyMedianMs: 200,
      latencyJitter: 0.5,
      transientFailureRate: 0.5,
    });
    expect(generator.planAttempt(inputFor(11))).toEqual(
      generator.planAttempt(inputFor(11)),
    );
    const plans = [1, 2, 3, 4, 5, 6].map((attempt) =>
      generator.planAttempt(inputFor(11, { attempt })),
    );
    expect(new Set(plans.map((plan) => plan.latencyMs)).size).toBeGreaterThan(
      1,
    );
  });
});

describe("SimulatedGenerator — questions", () => {
  const topics = [
    "Cardiology",
    "Respiratory medicine",
    "asthma",
    "Endocrinology",
    "Medical ethics",
    "x",
  ];

  it("every output is valid against generatedQuestionSchema, over positions, types, difficulties and topics", async () => {
    const generator = instant();
    let checked = 0;
    for (const topic of topics) {
      for (const questionType of QUESTION_TYPES) {
        for (const difficulty of DIFFICULTIES) {
          for (let position = 0; position < 40; position++) {
            const question = await generator.generate(
              inputFor(position, { topic, questionType, difficulty }),
            );
            expect(generatedQuestionSchema.safeParse(question).success).toBe(
              true,
            );
            expect(question.options.map((option) => option.label)).toEqual([
              ...QUESTION_OPTION_LABELS,
            ]);
            expect(
              new Set(
                question.options.map((option) => option.text.toLowerCase()),
              ).size,
            ).toBe(5);
            expect(question.stem.endsWith("?")).toBe(true);
            expect(
              question.explanation.startsWith(`${question.answer} is correct.`),
            ).toBe(true);
            expect(question.stem).not.toMatch(/undefined|\s{2}|\.\./);
            // The stem must not give the answer away.
            const answerText = question.options.find(
              (option) => option.label === question.answer,
            )!.text;
            expect(question.stem.toLowerCase()).not.toContain(
              answerText.toLowerCase(),
            );
            checked++;
          }
        }
      }
    }
    expect(checked).toBe(topics.length * 6 * 40);
  });

  it("a clinical vignette presents a patient; an easy single-best-answer item names the condition", async () => {
    const generator = instant();
    for (let position = 0; position < 30; position++) {
      const vignette = await generator.generate(
        inputFor(position, { questionType: "clinical_vignette" }),
      );
      expect(vignette.stem).toMatch(
        /^An? \d+-year-old (man|woman|boy|girl) presents to .+ with .+ history of /,
      );
      expect(vignette.stem).toMatch(/On examination, /);

      const sba = await generator.generate(
        inputFor(position, {
          questionType: "single_best_answer",
          difficulty: "easy",
        }),
      );
      expect(sba.stem).toMatch(/^Which of the following .+ of .+\?$/);
    }
  });

  it("the answer is the option a topic-specific fact points to (asthma → asthma management)", async () => {
    const generator = instant();
    const answers = new Set<string>();
    for (let position = 0; position < 40; position++) {
      const question = await generator.generate(
        inputFor(position, {
          topic: "Asthma",
          questionType: "single_best_answer",
          difficulty: "easy",
        }),
      );
      const answer = question.options.find(
        (option) => option.label === question.answer,
      );
      answers.add(answer?.text ?? "");
      expect(question.stem.toLowerCase()).toContain("asthma");
    }
    expect(answers).toEqual(
      new Set([
        "Peak expiratory flow compared with the patient's best or predicted value",
        "Oxygen to target saturations, nebulised salbutamol and oral prednisolone",
      ]),
    );
  });

  it("a hard item never names its condition: the candidate has to recognise it", async () => {
    const generator = instant();
    for (const questionType of QUESTION_TYPES) {
      for (let position = 0; position < 100; position++) {
        const question = await generator.generate(
          inputFor(position, {
            questionType,
            difficulty: "hard",
            topic: "General medicine",
          }),
        );
        // The explanation spells out the hidden diagnosis, or the diagnosis is the answer itself.
        const answerText = question.options.find(
          (option) => option.label === question.answer,
        )!.text;
        const condition =
          /The findings indicate ([^.]+)\./.exec(question.explanation)?.[1] ??
          answerText;
        expect(question.stem.toLowerCase()).not.toContain(
          condition.toLowerCase(),
        );
      }
    }
  });

  it("puts the answer under every label over a batch", async () => {
    const generator = instant();
    const labels = new Set<string>();
    for (let position = 0; position < 100; position++)
      labels.add((await generator.generate(inputFor(position))).answer);
    expect(labels).toEqual(new Set(QUESTION_OPTION_LABELS));
  });
});

describe("SimulatedGenerator — latency and failure knobs", () => {
  it("with zero latency, 10,000 items generate in well under the benchmark's budget", async () => {
    const generator = instant();
    const started = performance.now();
    for (let position = 0; position < 10_000; position++) {
      await generator.generate(
        inputFor(position, {
          questionType:
            position % 2 ? "clinical_vignette" : "single_best_answer",
        }),
      );
    }
    const elapsedMs = performance.now() - started;
    expect(elapsedMs).toBeLessThan(5_000);
  });

  it("with zero latency, generate settles without waiting for a timer", async () => {
    const generator = instant();
    let timerFired = false;
    const timer = setTimeout(() => {
      timerFired = true;
    }, 0);
    await generator.generate(inputFor(1));
    expect(timerFired).toBe(false);
    clearTimeout(timer);
  });

  it("latency is log-normal around the median, capped, and exact when jitter is 0", () => {
    const generator = new SimulatedGenerator({
      latencyMedianMs: 200,
      latencyJitter: 0.5,
      maxLatencyMs: 900,
    });
    const latencies = Array.from(
      { length: 4000 },
      (_, position) => generator.planAttempt(inputFor(position)).latencyMs,
    ).sort((a, b) => a - b);
    const median = latencies[2000]!;
    expect(median).toBeGreaterThan(180);
    expect(median).toBeLessThan(220);
    // ln-space sd 0.5: the 84th percentile sits near 200·e^0.5 ≈ 330 ms.
    expect(latencies[3360]!).toBeGreaterThan(290);
    expect(latencies[3360]!).toBeLessThan(370);
    expect(latencies.at(-1)!).toBeLessThanOrEqual(900);
    expect(latencies[0]!).toBeGreaterThan(0);

    const fixed = new SimulatedGenerator({
      latencyMedianMs: 150,
      latencyJitter: 0,
    });
    for (let position = 0; position < 50; position++)
      expect(fixed.planAttempt(inputFor(position)).latencyMs).toBe(150);
  });

  it("waits the drawn latency before answering", async () => {
    const generator = new SimulatedGenerator({
      latencyMedianMs: 120,
      latencyJitter: 0,
      transientFailureRate: 0,
    });
    const started = performance.now();
    await generator.generate(inputFor(1));
    expect(performance.now() - started).toBeGreaterThanOrEqual(110);
  });

  it("honours the transient and permanent failure rates roughly, and a failed attempt can succeed on retry", async () => {
    const generator = new SimulatedGenerator({
      latencyMedianMs: 0,
      transientFailureRate: 0.2,
      permanentFailureRate: 0.05,
    });
    const attempts = 5000;
    let transient = 0;
    let permanent = 0;
    let recoveredOnRetry = 0;
    for (let position = 0; position < attempts; position++) {
      try {
        await generator.generate(inputFor(position));
      } catch (error) {
        if (error instanceof PermanentGenerationError) permanent++;
        else if (error instanceof TransientGenerationError) {
          transient++;
          const retry = generator.planAttempt(
            inputFor(position, { attempt: 2 }),
          );
          if (retry.fail === undefined) recoveredOnRetry++;
        } else throw error;
      }
    }
    expect(transient / attempts).toBeGreaterThan(0.17);
    expect(transient / attempts).toBeLessThan(0.23);
    expect(permanent / attempts).toBeGreaterThan(0.035);
    expect(permanent / attempts).toBeLessThan(0.065);
    expect(recoveredOnRetry / transient).toBeGreaterThan(0.65);
  });

  it("never fails with both rates at 0, always fails with the transient rate at 1", async () => {
    const never = instant();
    for (let position = 0; position < 500; position++)
      await never.generate(inputFor(position));
    const always = new SimulatedGenerator({
      latencyMedianMs: 0,
      transientFailureRate: 1,
    });
    await expect(always.generate(inputFor(1))).rejects.toBeInstanceOf(
      TransientGenerationError,
    );
  });

  it("rejects rates outside [0, 1] and negative latency at construction", () => {
    expect(() => new SimulatedGenerator({ transientFailureRate: 1.5 })).toThrow(
      RangeError,
    );
    expect(
      () => new SimulatedGenerator({ permanentFailureRate: -0.1 }),
    ).toThrow(RangeError);
    expect(
      () =>
        new SimulatedGenerator({
          transientFailureRate: 0.6,
          permanentFailureRate: 0.6,
        }),
    ).toThrow(RangeError);
    expect(() => new SimulatedGenerator({ latencyMedianMs: -1 })).toThrow(
      RangeError,
    );
    expect(() => new SimulatedGenerator({ latencyJitter: Number.NaN })).toThrow(
      RangeError,
    );
  });
});

describe("SimulatedGenerator — forced behaviour for tests", () => {
  it("makes one position slow while the others answer at once", async () => {
    const generator = new SimulatedGenerator({
      latencyMedianMs: 0,
      transientFailureRate: 0,
      behaviour: (input) =>
        input.position === 3 ? { latencyMs: 600 } : undefined,
    });
    const started = performance.now();
    const settledAt: number[] = [];
    await Promise.all(
      [1, 2, 3, 4].map(async (position) => {
        await generator.generate(inputFor(position));
        settledAt[position] = performance.now() - started;
      }),
    );
    // Generous bounds: a loaded 2-core CI machine can stall the event loop for a while.
    expect(settledAt[1]!).toBeLessThan(300);
    expect(settledAt[4]!).toBeLessThan(300);
    expect(settledAt[3]!).toBeGreaterThanOrEqual(590);
  });

  it("forces a permanent failure, or a transient one with retryAfterMs on the first attempt only", async () => {
    const generator = new SimulatedGenerator({
      latencyMedianMs: 0,
      transientFailureRate: 0,
      behaviour: (input) => {
        if (input.position === 5) return { fail: "permanent" };
        if (input.position === 6 && input.attempt === 1)
          return { fail: "transient", retryAfterMs: 1234 };
        return undefined;
      },
    });
    await expect(generator.generate(inputFor(5))).rejects.toBeInstanceOf(
      PermanentGenerationError,
    );
    await expect(
      generator.generate(inputFor(5, { attempt: 3 })),
    ).rejects.toBeInstanceOf(PermanentGenerationError);

    const error: unknown = await generator
      .generate(inputFor(6))
      .catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(TransientGenerationError);
    expect((error as TransientGenerationError).retryAfterMs).toBe(1234);
    expect((error as TransientGenerationError).retryable).toBe(true);

    const retried = await generator.generate(inputFor(6, { attempt: 2 }));
    expect(generatedQuestionSchema.parse(retried)).toEqual(retried);
  });

  it("fields the hook leaves out are still drawn (forcing latency keeps the drawn failure)", async () => {
    const generator = new SimulatedGenerator({
      latencyMedianMs: 0,
      transientFailureRate: 1,
      behaviour: () => ({ latencyMs: 0 }),
    });
    await expect(generator.generate(inputFor(1))).rejects.toBeInstanceOf(
      TransientGenerationError,
    );
  });
});

describe("SimulatedGenerator — abort", () => {
  it("rejects at once with GenerationAbortedError when the signal has already fired", async () => {
    const controller = new AbortController();
    controller.abort(new Error("batch cancelled"));
    const generator = new SimulatedGenerator({
      latencyMedianMs: 5_000,
      latencyJitter: 0,
    });
    const started = performance.now();
    const error: unknown = await generator
      .generate(inputFor(1), { signal: controller.signal })
      .catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(GenerationAbortedError);
    expect((error as GenerationAbortedError).cause).toEqual(
      new Error("batch cancelled"),
    );
    expect(performance.now() - started).toBeLessThan(100);
  });

  it("stops waiting when aborted during the simulated latency", async () => {
    const controller = new AbortController();
    const generator = new SimulatedGenerator({
      latencyMedianMs: 5_000,
      latencyJitter: 0,
      transientFailureRate: 0,
    });
    const started = performance.now();
    setTimeout(() => controller.abort(), 30);
    await expect(
      generator.generate(inputFor(1), { signal: controller.signal }),
    ).rejects.toBeInstanceOf(GenerationAbortedError);
    expect(performance.now() - started).toBeLessThan(1_000);
  });

  it("an unused signal does not change the answer", async () => {
    const controller = new AbortController();
    const withSignal = await instant().generate(inputFor(9), {
      signal: controller.signal,
    });
    expect(withSignal).toEqual(await instant().generate(inputFor(9)));
  });
});
