import {
  QUESTION_OPTION_LABELS,
  type Difficulty,
  type GeneratedQuestion,
  type QuestionType,
} from "@batchgen/types";
import type { Prng } from "./prng.ts";
import {
  CONDITIONS,
  DOMAIN_KEYWORDS,
  type ConditionEntry,
  type QuestionFacet,
} from "./simulated-question-bank.ts";

type Facet = QuestionFacet | "diagnosis";

/**
 * Which facets each (type, difficulty) asks. Easy items name the condition or show its classic
 * picture; hard items hide the diagnosis and ask what follows from it.
 */
const FACETS: Readonly<
  Record<QuestionType, Readonly<Record<Difficulty, readonly Facet[]>>>
> = {
  clinical_vignette: {
    easy: ["diagnosis"],
    medium: ["diagnosis", "investigation", "management"],
    hard: ["management", "mechanism"],
  },
  single_best_answer: {
    easy: ["investigation", "management"],
    medium: ["investigation", "management", "mechanism"],
    hard: ["diagnosis", "management", "mechanism"],
  },
};

const VIGNETTE_LEAD_INS: Readonly<Record<Facet, string>> = {
  diagnosis: "Which of the following is the most likely diagnosis?",
  investigation:
    "Which of the following investigations is most appropriate to confirm the diagnosis?",
  management:
    "Which of the following is the most appropriate next step in management?",
  mechanism:
    "Which of the following best describes the underlying mechanism of this presentation?",
};

const NAMED_FOLLOW_UP_LEAD_INS: Readonly<Record<QuestionFacet, string>> = {
  investigation:
    "Which of the following investigations is most appropriate to confirm the diagnosis?",
  management:
    "Which of the following is the most appropriate initial management?",
  mechanism:
    "Which of the following best describes the underlying mechanism of this condition?",
};

function namedLeadIn(facet: QuestionFacet, name: string): string {
  switch (facet) {
    case "investigation":
      return `Which of the following investigations is most appropriate to confirm a diagnosis of ${name}?`;
    case "management":
      return `Which of the following is the most appropriate initial management of ${name}?`;
    case "mechanism":
      return `Which of the following best describes the pathophysiology of ${name}?`;
  }
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

/** A keyword matches at the start of a word, so "cardio" matches "Cardiology" but "iron" not "environment". */
function topicMentions(topic: string, keywords: readonly string[]): boolean {
  return keywords.some((keyword) =>
    new RegExp(`(^|[^a-z0-9])${escapeRegExp(keyword)}`).test(topic),
  );
}

const candidatesCache = new Map<string, readonly ConditionEntry[]>();

/**
 * The conditions a topic is about: named conditions first, then the conditions of the domains it
 * names, else all of them (a free-text topic the bank does not know still gets sensible items).
 */
export function selectConditionsForTopic(
  topic: string,
): readonly ConditionEntry[] {
  const normalized = topic.toLowerCase();
  const cached = candidatesCache.get(normalized);
  if (cached) return cached;
  let candidates: readonly ConditionEntry[] = CONDITIONS.filter((condition) =>
    topicMentions(normalized, condition.keywords),
  );
  if (candidates.length === 0) {
    const domains = Object.entries(DOMAIN_KEYWORDS)
      .filter(([, keywords]) => topicMentions(normalized, keywords))
      .map(([domain]) => domain);
    candidates = CONDITIONS.filter((condition) =>
      condition.domains.some((domain) => domains.includes(domain)),
    );
  }
  if (candidates.length === 0) candidates = CONDITIONS;
  // Topics repeat for every item of a batch; the cache stays small because it is capped.
  if (candidatesCache.size > 1000) candidatesCache.clear();
  candidatesCache.set(normalized, candidates);
  return candidates;
}

function joinList(items: readonly string[]): string {
  if (items.length <= 1) return items.join("");
  return `${items.slice(0, -1).join(", ")} and ${items[items.length - 1] ?? ""}`;
}

function capitalize(text: string): string {
  return text.charAt(0).toUpperCase() + text.slice(1);
}

/** Keeps the bank's order (most characteristic first) while choosing which extras appear. */
function pickInOrder(
  rng: Prng,
  items: readonly string[],
  always: number,
  total: number,
): string[] {
  const count = Math.min(total, items.length);
  const fixed = items.slice(0, Math.min(always, count));
  const rest = items.slice(fixed.length);
  const extras = new Set(rng.sample(rest, count - fixed.length));
  return [...fixed, ...rest.filter((item) => extras.has(item))];
}

interface Patient {
  readonly description: string;
  readonly pronoun: "He" | "She";
}

function drawPatient(rng: Prng, condition: ConditionEntry): Patient {
  const age = rng.int(condition.ageRange[0], condition.ageRange[1]);
  const male =
    condition.sex === "any" ? rng.next() < 0.5 : condition.sex === "male";
  const noun = age < 18 ? (male ? "boy" : "girl") : male ? "man" : "woman";
  // "An 8-year-old", "an 18-year-old", "an 80-year-old": the article follows the spoken number.
  const article = /^(8\d?|11|18)$/.test(String(age)) ? "An" : "A";
  return {
    description: `${article} ${age}-year-old ${noun}`,
    pronoun: male ? "He" : "She",
  };
}

function composeVignetteStem(
  rng: Prng,
  condition: ConditionEntry,
  difficulty: Difficulty,
  facet: Facet,
): string {
  const patient = drawPatient(rng, condition);
  const symptomCount = difficulty === "easy" ? 3 : 2;
  const symptoms = pickInOrder(
    rng,
    condition.symptoms,
    difficulty === "hard" ? 1 : 2,
    symptomCount,
  );
  const signs = pickInOrder(
    rng,
    condition.signs,
    1,
    difficulty === "hard" ? rng.int(1, 2) : 2,
  );
  // The discriminating result is shown when the answer depends on it, and never when the
  // question asks which test to do (it would give the answer away).
  let results: string[] = [];
  if (facet !== "investigation") {
    results =
      difficulty === "hard"
        ? pickInOrder(rng, condition.results, 1, 2)
        : condition.results.slice(0, 1);
  }
  const sentences = [
    `${patient.description} presents to ${condition.setting} with ${rng.pick(condition.durations)} of ${joinList(symptoms)}.`,
    `${patient.pronoun} ${rng.pick(condition.history)}.`,
    `On examination, ${joinList(signs)}.`,
  ];
  for (const result of results) sentences.push(`${capitalize(result)}.`);
  sentences.push(VIGNETTE_LEAD_INS[facet]);
  return sentences.join(" ");
}

function composeSingleBestAnswerStem(
  rng: Prng,
  condition: ConditionEntry,
  difficulty: Difficulty,
  facet: Facet,
): string {
  if (difficulty === "hard" || facet === "diagnosis") {
    // The condition is described, not named: the candidate must recognise it first.
    const symptoms = pickInOrder(rng, condition.symptoms, 1, 2);
    const sign = rng.pick(condition.signs);
    const result = condition.results[0] ?? "";
    return `A patient has ${joinList(symptoms)}; ${sign}, and ${result}. ${VIGNETTE_LEAD_INS[facet]}`;
  }
  if (difficulty === "easy") return namedLeadIn(facet, condition.name);
  const patient = drawPatient(rng, condition);
  const symptom = rng.pick(condition.symptoms.slice(0, 2));
  const context =
    facet === "investigation"
      ? `${patient.description} with ${symptom} is thought to have ${condition.name}.`
      : `${patient.description} with ${symptom} is diagnosed with ${condition.name}.`;
  return `${context} ${NAMED_FOLLOW_UP_LEAD_INS[facet]}`;
}

export interface SimulatedQuestionInput {
  readonly topic: string;
  readonly questionType: QuestionType;
  readonly difficulty: Difficulty;
}

/** A complete question from the curated bank; every random choice comes from `rng`. */
export function composeSimulatedQuestion(
  rng: Prng,
  input: SimulatedQuestionInput,
): GeneratedQuestion {
  const condition = rng.pick(selectConditionsForTopic(input.topic));
  const facet = rng.pick(FACETS[input.questionType][input.difficulty]);

  const stem =
    input.questionType === "clinical_vignette"
      ? composeVignetteStem(rng, condition, input.difficulty, facet)
      : composeSingleBestAnswerStem(rng, condition, input.difficulty, facet);

  const entry =
    facet === "diagnosis"
      ? {
          answer: condition.name,
          distractors: condition.differentials,
          explanation: condition.diagnosisExplanation,
        }
      : condition.facets[facet];

  const answerIndex = rng.int(0, QUESTION_OPTION_LABELS.length - 1);
  const distractors = rng.sample(
    entry.distractors,
    QUESTION_OPTION_LABELS.length - 1,
  );
  const texts = [...distractors];
  texts.splice(answerIndex, 0, entry.answer);
  const options = QUESTION_OPTION_LABELS.map((label, index) => ({
    label,
    text: capitalize(texts[index] ?? ""),
  }));
  const answer = QUESTION_OPTION_LABELS[answerIndex] ?? "A";

  const otherLabels = QUESTION_OPTION_LABELS.filter(
    (label) => label !== answer,
  );
  const explanation = [
    `${answer} is correct.`,
    // A hidden diagnosis is spelled out so the explanation teaches the whole chain of reasoning.
    facet !== "diagnosis" &&
    (input.questionType === "clinical_vignette" || input.difficulty === "hard")
      ? `The findings indicate ${condition.name}.`
      : "",
    entry.explanation,
    `${joinList(otherLabels)} are recognised alternatives in related presentations but fit this one less well.`,
  ]
    .filter((sentence) => sentence.length > 0)
    .join(" ");

  return { stem, options, answer, explanation };
}
