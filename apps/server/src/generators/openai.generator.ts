import {
  QUESTION_OPTION_LABELS,
  QUESTION_TYPE_LABELS,
  generatedQuestionSchema,
  type Difficulty,
  type GeneratedQuestion,
  type QuestionType,
} from "@batchgen/types";
import OpenAI, {
  APIConnectionError,
  APIConnectionTimeoutError,
  APIError,
  APIUserAbortError,
} from "openai";
import {
  GenerationAbortedError,
  PermanentGenerationError,
  TransientGenerationError,
  throwIfGenerationAborted,
  type GenerateOptions,
  type GenerationInput,
  type ItemGenerator,
} from "./generator.ts";

export interface OpenAIGeneratorOptions {
  /** OPENAI_BASE_URL; any OpenAI-compatible server (vLLM, llama.cpp, Ollama, LiteLLM) works. */
  readonly baseURL?: string;
  /** OPENAI_API_KEY; local servers usually ignore it. */
  readonly apiKey?: string;
  /** OPENAI_MODEL */
  readonly model: string;
  /** OPENAI_TIMEOUT_MS: one request, from sending to the last byte; a timeout is a transient failure. */
  readonly timeoutMs?: number;
  /**
   * OPENAI_RESPONSE_FORMAT: `json_schema` (structured outputs, the default) or `json_object` for
   * servers that only know JSON mode; the prompt carries the schema either way.
   */
  readonly responseFormat?: "json_schema" | "json_object";
  /** Left to the server's default unless set: some reasoning models reject the parameter. */
  readonly temperature?: number;
}

export const DEFAULT_OPENAI_BASE_URL = "https://api.openai.com/v1";
export const DEFAULT_OPENAI_TIMEOUT_MS = 60_000;

/**
 * `generatedQuestionSchema` written out as JSON Schema in the subset strict structured outputs
 * accept (every property required, no additional properties). Written by hand rather than
 * converted so the provider sees exactly this; a test keeps it in step with the zod schema.
 */
export const GENERATED_QUESTION_JSON_SCHEMA = {
  type: "object",
  additionalProperties: false,
  required: ["stem", "options", "answer", "explanation"],
  properties: {
    stem: {
      type: "string",
      description: "The question stem, ending with the question itself.",
    },
    options: {
      type: "array",
      description:
        "Exactly five options labelled A, B, C, D and E in that order.",
      minItems: 5,
      maxItems: 5,
      items: {
        type: "object",
        additionalProperties: false,
        required: ["label", "text"],
        properties: {
          label: { type: "string", enum: [...QUESTION_OPTION_LABELS] },
          text: { type: "string" },
        },
      },
    },
    answer: {
      type: "string",
      enum: [...QUESTION_OPTION_LABELS],
      description: "The label of the single best answer.",
    },
    explanation: {
      type: "string",
      description:
        "Why the answer is right and why each other option is less suitable.",
    },
  },
} as const;

const SYSTEM_PROMPT = [
  "You write single-best-answer multiple-choice questions for medical school examinations.",
  "Each question has a stem that ends with a clear question, exactly five options labelled A to E,",
  "one best answer, and four plausible distractors of the same kind as the answer (all diagnoses,",
  "all drugs, all investigations). The stem must not give the answer away. The explanation says",
  "why the answer is best and why each distractor is less suitable, following current guidelines.",
  "Reply with one JSON object matching this JSON Schema and nothing else:",
  JSON.stringify(GENERATED_QUESTION_JSON_SCHEMA),
].join(" ");

const QUESTION_TYPE_GUIDANCE: Readonly<Record<QuestionType, string>> = {
  single_best_answer:
    "a focused question on one fact or concept, with a short stem of one or two sentences",
  clinical_vignette:
    "a clinical vignette: the stem presents a patient (age, sex, setting, history, examination findings and relevant results) and then asks the question",
};

const DIFFICULTY_GUIDANCE: Readonly<Record<Difficulty, string>> = {
  easy: "easy: recall of core knowledge expected of every student, with clearly distinct distractors",
  medium:
    "medium: application of knowledge to a typical case, with some plausible distractors",
  hard: "hard: several steps of reasoning (for example recognising an unnamed diagnosis and then choosing its management), with close distractors",
};

/** Rotated by position so the items of one batch do not all ask the same thing about the topic. */
const FOCI = [
  "the most likely diagnosis",
  "the most appropriate investigation",
  "the most appropriate management",
  "the underlying mechanism or pathophysiology",
  "a complication or adverse effect",
  "a risk factor or cause",
] as const;

export function buildOpenAIPrompt(input: GenerationInput): {
  system: string;
  user: string;
} {
  const focus = FOCI[input.position % FOCI.length] ?? FOCI[0];
  const user = [
    // The topic is the only free text from the user; quoting it keeps it data, not instructions.
    `Topic: ${JSON.stringify(input.topic)}`,
    `Question type: ${QUESTION_TYPE_LABELS[input.questionType]}, ${QUESTION_TYPE_GUIDANCE[input.questionType]}.`,
    `Difficulty: ${DIFFICULTY_GUIDANCE[input.difficulty]}.`,
    `This is item ${input.position} of a batch on this topic; ask about ${focus}, and choose a specific aspect of the topic that another item would be unlikely to pick.`,
  ].join("\n");
  return { system: SYSTEM_PROMPT, user };
}

/**
 * Milliseconds from `retry-after-ms` (OpenAI's extension) or `Retry-After` (seconds or an HTTP
 * date), the same precedence as the SDK's own retry loop; undefined when absent or unreadable.
 */
export function parseRetryAfterMs(
  headers: Headers | undefined,
  now: number = Date.now(),
): number | undefined {
  const millis = headers?.get("retry-after-ms");
  if (millis) {
    const value = Number.parseFloat(millis);
    if (Number.isFinite(value) && value >= 0) return Math.ceil(value);
  }
  const retryAfter = headers?.get("retry-after")?.trim();
  if (!retryAfter) return undefined;
  if (/^\d+(\.\d+)?$/.test(retryAfter))
    return Math.ceil(Number.parseFloat(retryAfter) * 1000);
  const date = Date.parse(retryAfter);
  if (Number.isNaN(date)) return undefined;
  return Math.max(0, date - now);
}

/** Statuses where the same request can succeed later: timeout, lock conflict, rate limit, server side. */
function isTransientStatus(status: number): boolean {
  return status === 408 || status === 409 || status === 429 || status >= 500;
}

/**
 * Maps whatever the SDK threw to our error classes. The SDK's own retries are off (maxRetries 0),
 * so every failure reaches the orchestrator, which owns retries and backoff
 * (docs/decisions/generator-retries.md).
 */
function classifyOpenAIError(
  error: unknown,
  signal: AbortSignal | undefined,
): Error {
  // The SDK reports our abort and its own timeout both through abort machinery; tell them apart.
  if (error instanceof APIUserAbortError || signal?.aborted)
    return new GenerationAbortedError({ cause: error });
  if (error instanceof APIConnectionTimeoutError) {
    return new TransientGenerationError(
      `openai request timed out: ${error.message}`,
      { cause: error },
    );
  }
  if (error instanceof APIConnectionError) {
    return new TransientGenerationError(
      `openai connection failed: ${error.message}`,
      { cause: error },
    );
  }
  if (error instanceof APIError) {
    // instanceof narrows to APIError<any, any>; the declared defaults are the honest types.
    const apiError = error as APIError;
    const status = apiError.status;
    if (status === undefined || isTransientStatus(status)) {
      return new TransientGenerationError(
        `openai request failed with ${status ?? "no status"}: ${error.message}`,
        {
          retryAfterMs: parseRetryAfterMs(apiError.headers),
          cause: error,
        },
      );
    }
    // 400, 401, 403, 404, 422 …: the request or the credentials are wrong, a retry repeats it.
    return new PermanentGenerationError(
      `openai request rejected with ${status}: ${error.message}`,
      { cause: error },
    );
  }
  // Anything else is unexpected (a body that is not a completion, a bug): one attempt failed.
  const message = error instanceof Error ? error.message : String(error);
  return new TransientGenerationError(`openai call failed: ${message}`, {
    cause: error,
  });
}

/** Local models often wrap JSON in a Markdown fence even in JSON mode; accept that one wrapper. */
function stripCodeFence(content: string): string {
  const fenced = /^\s*```(?:json)?\s*\n([\s\S]*?)\n?```\s*$/.exec(content);
  return fenced?.[1] ?? content;
}

function parseModelAnswer(content: string): GeneratedQuestion {
  let json: unknown;
  try {
    json = JSON.parse(stripCodeFence(content));
  } catch (error) {
    throw new TransientGenerationError(
      `model answer is not valid JSON: ${content.slice(0, 200)}`,
      { cause: error },
    );
  }
  const parsed = generatedQuestionSchema.safeParse(json);
  if (!parsed.success) {
    const issues = parsed.error.issues.map(
      (issue) => `${issue.path.join(".") || "(root)"}: ${issue.message}`,
    );
    throw new TransientGenerationError(
      `model answer does not match the question schema: ${issues.join("; ")}`,
      {
        cause: parsed.error,
      },
    );
  }
  // The shared schema checks each label but not that the five are distinct; a question with two
  // "B" options cannot be marked, so it is a failed attempt too.
  const labels = new Set(parsed.data.options.map((option) => option.label));
  if (labels.size !== QUESTION_OPTION_LABELS.length) {
    throw new TransientGenerationError(
      "model answer does not label its five options A to E exactly once",
    );
  }
  const options = [...parsed.data.options].sort((a, b) =>
    a.label.localeCompare(b.label),
  );
  return { ...parsed.data, options };
}

/**
 * Generates through the official SDK against any OpenAI-compatible chat completions endpoint.
 * One HTTP request per call; see `classifyOpenAIError` for how failures are reported.
 */
export class OpenAIGenerator implements ItemGenerator {
  readonly name = "openai" as const;
  private readonly client: OpenAI;
  private readonly model: string;
  private readonly timeoutMs: number;
  private readonly responseFormat: "json_schema" | "json_object";
  private readonly temperature: number | undefined;

  constructor(options: OpenAIGeneratorOptions) {
    if (options.model.trim() === "")
      throw new RangeError("OpenAIGenerator needs a model name");
    this.model = options.model;
    this.timeoutMs = options.timeoutMs ?? DEFAULT_OPENAI_TIMEOUT_MS;
    this.responseFormat = options.responseFormat ?? "json_schema";
    this.temperature = options.temperature;
    this.client = new OpenAI({
      // Every value is passed explicitly (null where unused): left undefined, the SDK would read
      // OPENAI_* from process.env behind the config module's back.
      baseURL: options.baseURL ?? DEFAULT_OPENAI_BASE_URL,
      apiKey: options.apiKey ?? "unused",
      adminAPIKey: null,
      organization: null,
      project: null,
      webhookSecret: null,
      maxRetries: 0,
      timeout: this.timeoutMs,
    });
  }

  async generate(
    input: GenerationInput,
    options: GenerateOptions = {},
  ): Promise<GeneratedQuestion> {
    throwIfGenerationAborted(options.signal);
    const prompt = buildOpenAIPrompt(input);
    let completion: OpenAI.Chat.Completions.ChatCompletion;
    try {
      completion = await this.client.chat.completions.create(
        {
          model: this.model,
          messages: [
            { role: "system", content: prompt.system },
            { role: "user", content: prompt.user },
          ],
          response_format:
            this.responseFormat === "json_schema"
              ? {
                  type: "json_schema",
                  json_schema: {
                    name: "generated_question",
                    strict: true,
                    schema: GENERATED_QUESTION_JSON_SCHEMA,
                  },
                }
              : { type: "json_object" },
          ...(this.temperature === undefined
            ? {}
            : { temperature: this.temperature }),
        },
        { signal: options.signal, timeout: this.timeoutMs, maxRetries: 0 },
      );
    } catch (error) {
      throw classifyOpenAIError(error, options.signal);
    }

    // Some compatible servers answer 200 with a body that is not a completion at all.
    const choice = (completion as Partial<typeof completion>).choices?.[0];
    if (!choice)
      throw new TransientGenerationError("openai response has no choices");
    if (choice.finish_reason === "content_filter") {
      throw new PermanentGenerationError(
        "openai response was blocked by the provider's content filter",
      );
    }
    if (choice.finish_reason === "length") {
      throw new TransientGenerationError(
        "openai response was cut off at the token limit",
      );
    }
    if (choice.message.refusal) {
      throw new TransientGenerationError(
        `model refused: ${choice.message.refusal.slice(0, 200)}`,
      );
    }
    const content = choice.message.content;
    if (!content)
      throw new TransientGenerationError("openai response has no content");
    return parseModelAnswer(content);
  }
}
