import {
  QUESTION_OPTION_LABELS,
  generatedQuestionSchema,
  type GeneratedQuestion,
} from "@batchgen/types";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { z } from "zod";
import {
  GenerationAbortedError,
  PermanentGenerationError,
  TransientGenerationError,
  type GenerationInput,
} from "../../src/generators/generator.ts";
import {
  GENERATED_QUESTION_JSON_SCHEMA,
  OpenAIGenerator,
  parseRetryAfterMs,
  type OpenAIGeneratorOptions,
} from "../../src/generators/openai.generator.ts";
import {
  chatCompletionBody,
  startFakeOpenAIServer,
  type FakeOpenAIServer,
} from "./fake-openai-server.ts";

const QUESTION: GeneratedQuestion = {
  stem: "A 64-year-old man has crushing central chest pain for 1 hour and ST elevation in II, III and aVF. Which artery is most likely occluded?",
  options: [
    { label: "A", text: "Right coronary artery" },
    { label: "B", text: "Left anterior descending artery" },
    { label: "C", text: "Left circumflex artery" },
    { label: "D", text: "Left main stem" },
    { label: "E", text: "Posterior descending branch of the circumflex" },
  ],
  answer: "A",
  explanation:
    "Inferior ST elevation (II, III, aVF) usually reflects right coronary artery occlusion.",
};

const INPUT: GenerationInput = {
  batchId: "6f1c2a4e-2d9b-4c51-9a43-0f6f0c1d2e3a",
  position: 4,
  topic: "Acute coronary syndromes",
  questionType: "clinical_vignette",
  difficulty: "hard",
  attempt: 1,
};

let server: FakeOpenAIServer;

beforeAll(async () => {
  server = await startFakeOpenAIServer({
    status: 200,
    body: chatCompletionBody(QUESTION),
  });
});

afterAll(async () => {
  await server.close();
});

beforeEach(() => {
  server.requests.length = 0;
});

function generatorFor(
  options: Partial<OpenAIGeneratorOptions> = {},
): OpenAIGenerator {
  return new OpenAIGenerator({
    baseURL: server.baseURL,
    apiKey: "sk-test-key",
    model: "test-model",
    ...options,
  });
}

async function failureOf(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(
    () => {
      throw new Error("expected the call to fail");
    },
    (error: unknown) => error,
  );
}

function errorBody(message: string, type: string): Record<string, unknown> {
  return { error: { message, type, param: null, code: null } };
}

describe("OpenAIGenerator — success", () => {
  it("sends one structured-output chat completion and returns the validated question", async () => {
    const question = await generatorFor().generate(INPUT);

    expect(question).toEqual(QUESTION);
    expect(server.requests).toHaveLength(1);
    const request = server.requests[0]!;
    expect(request.method).toBe("POST");
    expect(request.url).toBe("/v1/chat/completions");
    expect(request.headers.authorization).toBe("Bearer sk-test-key");
    expect(request.body.model).toBe("test-model");
    expect(request.body.response_format).toEqual({
      type: "json_schema",
      json_schema: {
        name: "generated_question",
        strict: true,
        schema: GENERATED_QUESTION_JSON_SCHEMA,
      },
    });
    const messages = request.body.messages as {
      role: string;
      content: string;
    }[];
    expect(messages.map((message) => message.role)).toEqual(["system", "user"]);
    expect(messages[1]!.content).toContain('"Acute coronary syndromes"');
    expect(messages[1]!.content).toContain("Clinical vignette");
    expect(messages[1]!.content).toContain("hard");
    expect(request.body).not.toHaveProperty("temperature");
  });

  it("reads nothing from process.env: OPENAI_ORG_ID and OPENAI_PROJECT_ID are not sent", async () => {
    const saved = {
      org: process.env.OPENAI_ORG_ID,
      project: process.env.OPENAI_PROJECT_ID,
    };
    process.env.OPENAI_ORG_ID = "org-from-env";
    process.env.OPENAI_PROJECT_ID = "proj-from-env";
    try {
      await generatorFor().generate(INPUT);
    } finally {
      if (saved.org === undefined) delete process.env.OPENAI_ORG_ID;
      else process.env.OPENAI_ORG_ID = saved.org;
      if (saved.project === undefined) delete process.env.OPENAI_PROJECT_ID;
      else process.env.OPENAI_PROJECT_ID = saved.project;
    }
    expect(server.requests[0]!.headers).not.toHaveProperty(
      "openai-organization",
    );
    expect(server.requests[0]!.headers).not.toHaveProperty("openai-project");
  });

  it("sends JSON mode instead of a schema when configured, and the temperature when set", async () => {
    await generatorFor({
      responseFormat: "json_object",
      temperature: 0.7,
    }).generate(INPUT);
    expect(server.requests[0]!.body.response_format).toEqual({
      type: "json_object",
    });
    expect(server.requests[0]!.body.temperature).toBe(0.7);
  });

  it("accepts options in any order and a Markdown-fenced answer, returning options sorted A–E", async () => {
    const shuffled = { ...QUESTION, options: [...QUESTION.options].reverse() };
    server.enqueue({
      body: chatCompletionBody(
        "```json\n" + JSON.stringify(shuffled) + "\n```",
      ),
    });
    const question = await generatorFor().generate(INPUT);
    expect(question.options.map((option) => option.label)).toEqual([
      ...QUESTION_OPTION_LABELS,
    ]);
    expect(question).toEqual(QUESTION);
  });
});

describe("OpenAIGenerator — transient failures (the orchestrator retries)", () => {
  it("429 with Retry-After in seconds → TransientGenerationError with retryAfterMs, no SDK retry", async () => {
    server.enqueue({
      status: 429,
      headers: { "retry-after": "7" },
      body: errorBody("Rate limit reached", "requests"),
    });
    const error = await failureOf(generatorFor().generate(INPUT));
    expect(error).toBeInstanceOf(TransientGenerationError);
    expect((error as TransientGenerationError).retryAfterMs).toBe(7000);
    expect((error as TransientGenerationError).message).toContain("429");
    expect(server.requests).toHaveLength(1);
  });

  it("429 with retry-after-ms takes precedence over Retry-After", async () => {
    server.enqueue({
      status: 429,
      headers: { "retry-after-ms": "1500", "retry-after": "30" },
      body: errorBody("Rate limit reached", "requests"),
    });
    const error = await failureOf(generatorFor().generate(INPUT));
    expect((error as TransientGenerationError).retryAfterMs).toBe(1500);
  });

  it("503 with Retry-After as an HTTP date → transient with the time left until then", async () => {
    const inTenSeconds = new Date(Date.now() + 10_000).toUTCString();
    server.enqueue({
      status: 503,
      headers: { "retry-after": inTenSeconds },
      body: errorBody("Overloaded", "server_error"),
    });
    const error = await failureOf(generatorFor().generate(INPUT));
    expect(error).toBeInstanceOf(TransientGenerationError);
    const retryAfterMs = (error as TransientGenerationError).retryAfterMs!;
    expect(retryAfterMs).toBeGreaterThan(7_000);
    expect(retryAfterMs).toBeLessThanOrEqual(10_000);
  });

  it("500 → TransientGenerationError without retryAfterMs, after exactly one request", async () => {
    server.enqueue({
      status: 500,
      body: errorBody("The server had an error", "server_error"),
    });
    const error = await failureOf(generatorFor().generate(INPUT));
    expect(error).toBeInstanceOf(TransientGenerationError);
    expect((error as TransientGenerationError).retryAfterMs).toBeUndefined();
    expect(server.requests).toHaveLength(1);
  });

  it("malformed JSON in the message content → transient failed attempt, not a crash", async () => {
    server.enqueue({
      body: chatCompletionBody(
        '{"stem": "A patient with chest pain", "options": [',
      ),
    });
    const error = await failureOf(generatorFor().generate(INPUT));
    expect(error).toBeInstanceOf(TransientGenerationError);
    expect((error as Error).message).toMatch(/not valid JSON/);
  });

  it("content that is JSON but not a question (four options, answer F) → transient, naming the fields", async () => {
    server.enqueue({
      body: chatCompletionBody({
        ...QUESTION,
        options: QUESTION.options.slice(0, 4),
        answer: "F",
      }),
    });
    const error = await failureOf(generatorFor().generate(INPUT));
    expect(error).toBeInstanceOf(TransientGenerationError);
    expect((error as Error).message).toMatch(/options/);
    expect((error as Error).message).toMatch(/answer/);
  });

  it("five options with a repeated label → transient (the answer could not be marked)", async () => {
    const options = QUESTION.options.map((option, index) => ({
      ...option,
      label: index === 4 ? "A" : option.label,
    }));
    server.enqueue({ body: chatCompletionBody({ ...QUESTION, options }) });
    await expect(generatorFor().generate(INPUT)).rejects.toBeInstanceOf(
      TransientGenerationError,
    );
  });

  it("an answer cut off at the token limit, a refusal or an empty body → transient", async () => {
    server.enqueue(
      {
        body: chatCompletionBody('{"stem": "A 30-year-old', {
          finishReason: "length",
        }),
      },
      { body: chatCompletionBody("", { refusal: "I can't help with that." }) },
      { body: {} },
      { body: "<html>Bad gateway</html>" },
    );
    for (let i = 0; i < 4; i++) {
      await expect(generatorFor().generate(INPUT)).rejects.toBeInstanceOf(
        TransientGenerationError,
      );
    }
  });

  it("a request slower than timeoutMs → transient timeout", async () => {
    server.enqueue({ delayMs: 2_000, body: chatCompletionBody(QUESTION) });
    const started = performance.now();
    const error = await failureOf(
      generatorFor({ timeoutMs: 150 }).generate(INPUT),
    );
    expect(error).toBeInstanceOf(TransientGenerationError);
    expect((error as Error).message).toMatch(/timed out/);
    expect(performance.now() - started).toBeLessThan(1_500);
    expect(server.requests).toHaveLength(1);
  });

  it("nothing listening on the port → transient connection error", async () => {
    const closed = createServer();
    await new Promise<void>((resolve) =>
      closed.listen(0, "127.0.0.1", resolve),
    );
    const { port } = closed.address() as AddressInfo;
    await new Promise<void>((resolve) => closed.close(() => resolve()));

    const error = await failureOf(
      generatorFor({ baseURL: `http://127.0.0.1:${port}/v1` }).generate(INPUT),
    );
    expect(error).toBeInstanceOf(TransientGenerationError);
    expect((error as Error).message).toMatch(/connection/);
  });
});

describe("OpenAIGenerator — permanent failures (no retry)", () => {
  it.each([
    [400, "invalid_request_error"],
    [401, "invalid_api_key"],
    [403, "permission_denied"],
    [404, "model_not_found"],
    [422, "unprocessable_entity"],
  ])(
    "%i → PermanentGenerationError after one request",
    async (status, type) => {
      server.enqueue({ status, body: errorBody(`rejected: ${type}`, type) });
      const error = await failureOf(generatorFor().generate(INPUT));
      expect(error).toBeInstanceOf(PermanentGenerationError);
      expect((error as PermanentGenerationError).retryable).toBe(false);
      expect((error as Error).message).toContain(String(status));
      expect(server.requests).toHaveLength(1);
    },
  );

  it("an answer blocked by the content filter → permanent", async () => {
    server.enqueue({
      body: chatCompletionBody("", { finishReason: "content_filter" }),
    });
    await expect(generatorFor().generate(INPUT)).rejects.toBeInstanceOf(
      PermanentGenerationError,
    );
  });
});

describe("OpenAIGenerator — abort", () => {
  it("aborting an in-flight request rejects with GenerationAbortedError", async () => {
    server.enqueue({ delayMs: 5_000, body: chatCompletionBody(QUESTION) });
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 50);
    const started = performance.now();
    const error = await failureOf(
      generatorFor().generate(INPUT, { signal: controller.signal }),
    );
    expect(error).toBeInstanceOf(GenerationAbortedError);
    expect(performance.now() - started).toBeLessThan(1_000);
  });

  it("an already-aborted signal sends no request", async () => {
    const controller = new AbortController();
    controller.abort();
    await expect(
      generatorFor().generate(INPUT, { signal: controller.signal }),
    ).rejects.toBeInstanceOf(GenerationAbortedError);
    expect(server.requests).toHaveLength(0);
  });
});

describe("OpenAIGenerator — contract details", () => {
  it("the hand-written JSON schema matches generatedQuestionSchema", () => {
    const fromZod = z.toJSONSchema(generatedQuestionSchema) as {
      required: string[];
      properties: Record<
        string,
        { items?: { required: string[]; properties: Record<string, unknown> } }
      >;
    };
    expect([...GENERATED_QUESTION_JSON_SCHEMA.required].sort()).toEqual(
      [...fromZod.required].sort(),
    );
    expect(
      Object.keys(GENERATED_QUESTION_JSON_SCHEMA.properties).sort(),
    ).toEqual(Object.keys(fromZod.properties).sort());
    const optionItem = GENERATED_QUESTION_JSON_SCHEMA.properties.options.items;
    expect([...optionItem.required].sort()).toEqual(
      [...fromZod.properties.options!.items!.required].sort(),
    );
    expect(optionItem.properties.label.enum).toEqual([
      ...QUESTION_OPTION_LABELS,
    ]);
    expect(GENERATED_QUESTION_JSON_SCHEMA.properties.answer.enum).toEqual([
      ...QUESTION_OPTION_LABELS,
    ]);
  });

  it("parseRetryAfterMs reads milliseconds, seconds and HTTP dates, and ignores garbage", () => {
    const now = Date.parse("2026-11-30T03:00:00Z");
    expect(
      parseRetryAfterMs(new Headers({ "retry-after-ms": "250.4" }), now),
    ).toBe(251);
    expect(parseRetryAfterMs(new Headers({ "retry-after": "2" }), now)).toBe(
      2000,
    );
    expect(parseRetryAfterMs(new Headers({ "retry-after": "0.5" }), now)).toBe(
      500,
    );
    expect(
      parseRetryAfterMs(
        new Headers({ "retry-after": "Mon, 30 Nov 2026 03:00:05 GMT" }),
        now,
      ),
    ).toBe(5000);
    expect(
      parseRetryAfterMs(
        new Headers({ "retry-after": "Mon, 30 Nov 2026 02:59:00 GMT" }),
        now,
      ),
    ).toBe(0);
    expect(
      parseRetryAfterMs(new Headers({ "retry-after": "soon" }), now),
    ).toBeUndefined();
    expect(parseRetryAfterMs(new Headers(), now)).toBeUndefined();
    expect(parseRetryAfterMs(undefined, now)).toBeUndefined();
  });

  it("refuses an empty model name at construction", () => {
    expect(() => generatorFor({ model: " " })).toThrow(RangeError);
  });
});
