"use client";

import {
  BATCH_LIMITS,
  createBatchRequestSchema,
  DIFFICULTIES,
  QUESTION_TYPE_LABELS,
  QUESTION_TYPES,
  type BatchDetail,
  type CreateBatchRequest,
} from "@batchgen/types";
import { Plus } from "lucide-react";
import { useId, useRef, useState, type FormEvent, type ReactNode } from "react";
import { Alert, AlertDescription } from "@/components/ui/alert";
import { Button } from "@/components/ui/button";
import { Input } from "@/components/ui/input";
import { Label } from "@/components/ui/label";
import { Spinner } from "@/components/ui/spinner";
import { ApiNetworkError, ApiRequestError, type ApiClient } from "@/lib/api";
import { createBatch } from "@/lib/batch-api";
import { cn } from "@/lib/utils";

const FIELDS = ["topic", "questionType", "difficulty", "count", "concurrency"] as const;
type Field = (typeof FIELDS)[number];
type Values = Record<Field, string>;
type Errors = Partial<Record<Field, string>>;

const FIELD_LABELS: Record<Field, string> = {
  topic: "Topic",
  questionType: "Question type",
  difficulty: "Difficulty",
  count: "Number of questions",
  concurrency: "Concurrency",
};

const DIFFICULTY_LABELS: Record<(typeof DIFFICULTIES)[number], string> = { easy: "Easy", medium: "Medium", hard: "Hard" };

const INITIAL: Values = {
  topic: "",
  questionType: "single_best_answer",
  difficulty: "medium",
  count: "20",
  concurrency: String(BATCH_LIMITS.defaultConcurrency),
};

function isField(value: string): value is Field {
  return (FIELDS as readonly string[]).includes(value);
}

/** The schema's messages start with the field's key ("count must be at least 1"); say it in words. */
export function humanizeFieldMessage(field: Field, message: string): string {
  return message.startsWith(field) ? `${FIELD_LABELS[field]}${message.slice(field.length)}` : message;
}

function toNumber(value: string): number | undefined {
  return value.trim() === "" ? undefined : Number(value);
}

function toRequest(values: Values): Record<string, unknown> {
  return {
    topic: values.topic,
    questionType: values.questionType,
    difficulty: values.difficulty,
    count: toNumber(values.count),
    concurrency: toNumber(values.concurrency),
  };
}

/** Validates with the same zod schema the API uses; one message per field (the first). */
export function validateNewBatch(values: Values): { request: CreateBatchRequest | null; errors: Errors } {
  const parsed = createBatchRequestSchema.safeParse(toRequest(values));
  if (parsed.success) return { request: parsed.data, errors: {} };
  const errors: Errors = {};
  for (const issue of parsed.error.issues) {
    const field = String(issue.path[0] ?? "");
    if (isField(field) && !errors[field]) errors[field] = humanizeFieldMessage(field, issue.message);
  }
  return { request: null, errors };
}

function FieldError({ id, message }: { readonly id: string; readonly message: string | undefined }) {
  if (!message) return null;
  return (
    <p id={id} className="text-sm text-destructive" data-testid="field-error">
      {message}
    </p>
  );
}

function FieldRow({ children, className }: { readonly children: ReactNode; readonly className?: string }) {
  return <div className={cn("grid gap-1.5", className)}>{children}</div>;
}

const selectClass =
  "flex h-9 w-full rounded-md border border-border bg-background px-3 py-1 text-base outline-none focus-visible:border-ring focus-visible:ring-2 focus-visible:ring-ring/40 aria-invalid:border-destructive md:text-sm";

export interface NewBatchFormProps {
  readonly api: ApiClient;
  /** Called with the created batch (the page navigates to its progress page). */
  readonly onCreated: (batch: BatchDetail) => void;
}

/** "New batch": topic, question type, difficulty, count, concurrency; errors next to each field. */
export function NewBatchForm({ api, onCreated }: NewBatchFormProps) {
  const [values, setValues] = useState<Values>(INITIAL);
  const [errors, setErrors] = useState<Errors>({});
  const [touched, setTouched] = useState<Partial<Record<Field, boolean>>>({});
  const [formError, setFormError] = useState<string | null>(null);
  const [submitting, setSubmitting] = useState(false);
  const id = useId();
  const refs = useRef<Partial<Record<Field, HTMLInputElement | HTMLSelectElement | null>>>({});

  const fieldId = (field: Field) => `${id}-${field}`;
  const errorId = (field: Field) => `${id}-${field}-error`;
  const hintId = (field: Field) => `${id}-${field}-hint`;

  function revalidate(next: Values, field: Field, force = false) {
    if (!force && !touched[field]) return;
    const { errors: all } = validateNewBatch(next);
    setErrors((current) => ({ ...current, [field]: all[field] }));
  }

  function change(field: Field, value: string) {
    const next = { ...values, [field]: value };
    setValues(next);
    revalidate(next, field);
  }

  function blur(field: Field) {
    setTouched((current) => ({ ...current, [field]: true }));
    revalidate(values, field, true);
  }

  async function submit(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    if (submitting) return;
    setFormError(null);
    const { request, errors: found } = validateNewBatch(values);
    setTouched(Object.fromEntries(FIELDS.map((field) => [field, true])));
    setErrors(found);
    if (!request) {
      const first = FIELDS.find((field) => found[field]);
      if (first) refs.current[first]?.focus();
      return;
    }
    setSubmitting(true);
    try {
      const batch = await createBatch(api, request);
      onCreated(batch);
    } catch (error) {
      setSubmitting(false);
      if (error instanceof ApiRequestError && error.code === "VALIDATION_ERROR") {
        const field = error.details?.field;
        if (typeof field === "string" && isField(field)) {
          const issues = Array.isArray(error.details?.issues) ? (error.details.issues as { field?: unknown; message?: unknown }[]) : [];
          const message = issues.find((issue) => issue.field === field)?.message;
          setErrors((current) => ({
            ...current,
            [field]: humanizeFieldMessage(field, typeof message === "string" ? message : error.message),
          }));
          refs.current[field]?.focus();
          return;
        }
      }
      if (error instanceof ApiNetworkError) setFormError(error.message);
      else if (error instanceof ApiRequestError) setFormError(`The batch was not created: ${error.message}`);
      else setFormError("The batch was not created. Try again.");
    }
  }

  const describedBy = (field: Field, hint = false) =>
    [errors[field] ? errorId(field) : null, hint ? hintId(field) : null].filter(Boolean).join(" ") || undefined;

  const textInput = (field: "topic" | "count" | "concurrency", extra: Record<string, unknown>, hint?: string) => (
    <FieldRow>
      <Label htmlFor={fieldId(field)}>{FIELD_LABELS[field]}</Label>
      <Input
        id={fieldId(field)}
        name={field}
        ref={(element) => {
          refs.current[field] = element;
        }}
        value={values[field]}
        onChange={(event) => change(field, event.target.value)}
        onBlur={() => blur(field)}
        aria-invalid={errors[field] ? true : undefined}
        aria-describedby={describedBy(field, hint !== undefined)}
        {...extra}
      />
      {hint ? (
        <p id={hintId(field)} className="text-xs text-muted-foreground">
          {hint}
        </p>
      ) : null}
      <FieldError id={errorId(field)} message={errors[field]} />
    </FieldRow>
  );

  const select = (field: "questionType" | "difficulty", options: readonly { value: string; label: string }[]) => (
    <FieldRow>
      <Label htmlFor={fieldId(field)}>{FIELD_LABELS[field]}</Label>
      <select
        id={fieldId(field)}
        name={field}
        ref={(element) => {
          refs.current[field] = element;
        }}
        className={selectClass}
        value={values[field]}
        onChange={(event) => change(field, event.target.value)}
        onBlur={() => blur(field)}
        aria-invalid={errors[field] ? true : undefined}
        aria-describedby={describedBy(field)}
      >
        {options.map((option) => (
          <option key={option.value} value={option.value}>
            {option.label}
          </option>
        ))}
      </select>
      <FieldError id={errorId(field)} message={errors[field]} />
    </FieldRow>
  );

  return (
    <form noValidate onSubmit={(event) => void submit(event)} className="grid gap-4" aria-label="New batch">
      {textInput("topic", { autoComplete: "off", placeholder: "e.g. Cardiac physiology" }, `What the questions are about, up to ${BATCH_LIMITS.topicMaxLength} characters.`)}
      <div className="grid gap-4 sm:grid-cols-2">
        {select(
          "questionType",
          QUESTION_TYPES.map((value) => ({ value, label: QUESTION_TYPE_LABELS[value] })),
        )}
        {select(
          "difficulty",
          DIFFICULTIES.map((value) => ({ value, label: DIFFICULTY_LABELS[value] })),
        )}
      </div>
      <div className="grid gap-4 sm:grid-cols-2">
        {textInput(
          "count",
          { type: "number", inputMode: "numeric", min: BATCH_LIMITS.minCount, max: BATCH_LIMITS.maxCount, step: 1 },
          `${BATCH_LIMITS.minCount} to ${BATCH_LIMITS.maxCount.toLocaleString("en-US")}.`,
        )}
        {textInput(
          "concurrency",
          { type: "number", inputMode: "numeric", min: BATCH_LIMITS.minConcurrency, max: BATCH_LIMITS.maxConcurrency, step: 1 },
          `Questions generated at the same time, ${BATCH_LIMITS.minConcurrency} to ${BATCH_LIMITS.maxConcurrency}.`,
        )}
      </div>
      {formError ? (
        <Alert variant="destructive">
          <AlertDescription>{formError}</AlertDescription>
        </Alert>
      ) : null}
      <Button type="submit" className="w-fit" disabled={submitting} aria-busy={submitting || undefined}>
        {submitting ? <Spinner /> : <Plus aria-hidden="true" />}
        Create batch
      </Button>
    </form>
  );
}
