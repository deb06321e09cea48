import { AxeBuilder } from "@axe-core/playwright";

// The accessibility scan the browser tests run on every page state (issue 13). It lives with the
// web app because @axe-core/playwright is the web app's dev dependency; `e2e/support.ts` wraps it
// in an assertion.

/** Playwright's Page, as @axe-core/playwright types it. */
export type AxePage = ConstructorParameters<typeof AxeBuilder>[0]["page"];

export interface AxeFinding {
  readonly id: string;
  readonly impact: string;
  readonly help: string;
  readonly helpUrl: string;
  /** CSS selectors of the offending nodes, with axe's summary of what is wrong with each. */
  readonly nodes: readonly { readonly target: string; readonly summary: string }[];
}

export interface AxeScan {
  /** Serious and critical violations: these fail the test. */
  readonly blocking: readonly AxeFinding[];
  /** Moderate and minor ones, reported but not failing. */
  readonly other: readonly AxeFinding[];
}

/** WCAG 2.0/2.1/2.2 A and AA, plus axe's best practices. */
export const AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa", "best-practice"] as const;

/** Runs axe-core in the page (all frames) and sorts its violations by impact. */
export async function scanWithAxe(page: AxePage): Promise<AxeScan> {
  const results = await new AxeBuilder({ page }).withTags([...AXE_TAGS]).analyze();
  const findings = results.violations.map(
    (violation): AxeFinding => ({
      id: violation.id,
      impact: violation.impact ?? "unknown",
      help: violation.help,
      helpUrl: violation.helpUrl,
      nodes: violation.nodes.map((node) => ({ target: node.target.join(" "), summary: node.failureSummary ?? "" })),
    }),
  );
  const isBlocking = (finding: AxeFinding) => finding.impact === "serious" || finding.impact === "critical";
  return { blocking: findings.filter(isBlocking), other: findings.filter((finding) => !isBlocking(finding)) };
}

/** One finding per paragraph, for a failure message. */
export function describeFindings(findings: readonly AxeFinding[]): string {
  return findings
    .map(
      (finding) =>
        `[${finding.impact}] ${finding.id}: ${finding.help} (${finding.helpUrl})\n` +
        finding.nodes.map((node) => `  ${node.target}\n    ${node.summary.replaceAll("\n", "\n    ")}`).join("\n"),
    )
    .join("\n\n");
}
