import { describe, expect, it } from "vitest";
import {
  CONDITIONS,
  DOMAIN_KEYWORDS,
} from "../../src/generators/simulated-question-bank.ts";
import { selectConditionsForTopic } from "../../src/generators/simulated-question.ts";

describe("simulated question bank", () => {
  it.each(CONDITIONS.map((condition) => [condition.name, condition] as const))(
    "%s has enough distinct material for five-option questions",
    (_name, condition) => {
      const facets = [
        { answer: condition.name, distractors: condition.differentials },
        ...Object.values(condition.facets),
      ];
      for (const facet of facets) {
        expect(facet.distractors.length).toBeGreaterThanOrEqual(4);
        const texts = [facet.answer, ...facet.distractors].map((text) =>
          text.toLowerCase(),
        );
        expect(new Set(texts).size).toBe(texts.length);
      }
      expect(condition.symptoms.length).toBeGreaterThanOrEqual(3);
      expect(condition.signs.length).toBeGreaterThanOrEqual(2);
      expect(condition.results.length).toBeGreaterThanOrEqual(1);
      expect(condition.history.length).toBeGreaterThanOrEqual(1);
      expect(condition.ageRange[0]).toBeLessThanOrEqual(condition.ageRange[1]);
      for (const domain of condition.domains)
        expect(Object.keys(DOMAIN_KEYWORDS)).toContain(domain);
      for (const keyword of condition.keywords)
        expect(keyword).toBe(keyword.toLowerCase());
    },
  );
});

describe("selectConditionsForTopic", () => {
  it("a topic naming a condition selects that condition", () => {
    expect(
      selectConditionsForTopic("Asthma in adults").map((c) => c.name),
    ).toEqual(["acute severe asthma"]);
    expect(
      selectConditionsForTopic("Diabetic ketoacidosis").map((c) => c.name),
    ).toEqual(["diabetic ketoacidosis"]);
  });

  it("a topic naming a specialty selects that specialty's conditions", () => {
    const cardiology = selectConditionsForTopic("Cardiology");
    expect(cardiology.length).toBeGreaterThanOrEqual(3);
    for (const condition of cardiology)
      expect(condition.domains).toContain("cardiology");
  });

  it("an unknown topic falls back to the whole bank, and keywords match only at word starts", () => {
    expect(selectConditionsForTopic("Medical ethics")).toHaveLength(
      CONDITIONS.length,
    );
    // "iron" must not match inside "environment".
    expect(selectConditionsForTopic("Environmental health")).toHaveLength(
      CONDITIONS.length,
    );
  });
});
