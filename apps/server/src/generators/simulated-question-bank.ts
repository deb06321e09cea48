import { readFileSync } from "node:fs";
import { z } from "zod";

/**
 * Curated vocabulary for the simulated generator, kept as data in `simulated-question-bank.json`:
 * a few common conditions, each with the pieces a medical-school question is built from
 * (presentation, findings, and three question facets with one correct answer and plausible
 * distractors). Small on purpose; the text is written to read like real exam items, and every
 * facet has at least four distractors so any four make five options. The file is checked against
 * the schema below when the module loads, so a bad edit fails at start, not mid-batch.
 */

export type QuestionFacet = "investigation" | "management" | "mechanism";

export interface FacetEntry {
  readonly answer: string;
  readonly distractors: readonly string[];
  readonly explanation: string;
}

export interface ConditionEntry {
  /** Lower case, as it reads mid-sentence. */
  readonly name: string;
  readonly domains: readonly string[];
  /** Word prefixes that make a topic about this condition in particular. */
  readonly keywords: readonly string[];
  readonly ageRange: readonly [number, number];
  readonly sex: "male" | "female" | "any";
  readonly setting: string;
  /** Complete phrases: "a 2-hour history". */
  readonly durations: readonly string[];
  /** The first two are the most characteristic and are always shown. */
  readonly symptoms: readonly string[];
  /** Predicates that follow "He" or "She": "had a total hip replacement 2 weeks ago". */
  readonly history: readonly string[];
  /** Clauses without pronouns, so they fit any patient: "the pulse is 58/min". */
  readonly signs: readonly string[];
  /** The first result is the discriminating one and is shown whenever the diagnosis is asked. */
  readonly results: readonly string[];
  readonly differentials: readonly string[];
  readonly diagnosisExplanation: string;
  readonly facets: Readonly<Record<QuestionFacet, FacetEntry>>;
}

const words = z.array(z.string().min(1)).min(1);
const facetSchema = z.object({
  answer: z.string().min(1),
  distractors: z.array(z.string().min(1)).min(4),
  explanation: z.string().min(1),
});
const conditionSchema = z.object({
  name: z.string().min(1),
  domains: words,
  keywords: words,
  ageRange: z.tuple([z.number().int().min(0), z.number().int().min(0)]),
  sex: z.enum(["male", "female", "any"]),
  setting: z.string().min(1),
  durations: words,
  symptoms: z.array(z.string().min(1)).min(2),
  history: words,
  signs: words,
  results: words,
  differentials: z.array(z.string().min(1)).min(4),
  diagnosisExplanation: z.string().min(1),
  facets: z.object({ investigation: facetSchema, management: facetSchema, mechanism: facetSchema }),
});
const bankSchema = z.object({ domainKeywords: z.record(z.string(), words), conditions: z.array(conditionSchema).min(1) });

const bank = bankSchema.parse(JSON.parse(readFileSync(new URL("./simulated-question-bank.json", import.meta.url), "utf8")));

/** Topic word prefixes for each domain, checked after the condition keywords. */
export const DOMAIN_KEYWORDS: Readonly<Record<string, readonly string[]>> = bank.domainKeywords;

export const CONDITIONS: readonly ConditionEntry[] = bank.conditions;
