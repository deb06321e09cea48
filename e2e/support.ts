import { expect, test, type Page } from "@playwright/test";
import { describeFindings, scanWithAxe } from "../apps/web/src/test/axe.ts";

export const DEMO = {
  jones: { email: "dr.jones@msm.edu", password: "jones-demo-pass" },
  smith: { email: "dr.smith@msm.edu", password: "smith-demo-pass" },
  student: { email: "student@msm.edu", password: "student-demo-pass" },
} as const;

export const apiUrl = () => process.env.E2E_API_URL ?? "http://127.0.0.1:3001";
export const authUrl = () => process.env.E2E_AUTH_URL ?? "http://127.0.0.1:54321";

/** Signs in through the real login page. */
export async function signIn(page: Page, user: { email: string; password: string }): Promise<void> {
  await page.goto("/login");
  await page.getByLabel("Email").fill(user.email);
  await page.getByLabel("Password").fill(user.password);
  await page.getByRole("button", { name: "Sign in" }).click();
  await expect(page.getByTestId("user-email")).toHaveText(user.email);
}

/** An access token from the auth stand-in, for driving the API directly. */
export async function accessToken(user: { email: string; password: string }): Promise<string> {
  const response = await fetch(`${authUrl()}/auth/v1/token?grant_type=password`, {
    method: "POST",
    headers: { "content-type": "application/json", apikey: "local-anon-key" },
    body: JSON.stringify(user),
  });
  const body = (await response.json()) as { access_token: string };
  return body.access_token;
}

export async function screenshot(page: Page, name: string): Promise<void> {
  await page.screenshot({ path: `test-results/e2e/screenshots/${name}.png`, fullPage: true });
}

/**
 * Scans the page as it is now with axe-core (WCAG 2.x A/AA and best practices) and fails the test
 * on any serious or critical violation. Every scan is attached to the report (`axe: <state>`),
 * lesser findings included.
 */
export async function expectAccessible(page: Page, state: string): Promise<void> {
  const scan = await scanWithAxe(page);
  await test.info().attach(`axe: ${state}`, { body: JSON.stringify(scan, null, 2), contentType: "application/json" });
  if (scan.other.length > 0) {
    test.info().annotations.push({ type: `axe (moderate/minor): ${state}`, description: scan.other.map((finding) => finding.id).join(", ") });
  }
  expect(scan.blocking, `axe found serious or critical violations on "${state}":\n${describeFindings(scan.blocking)}`).toEqual([]);
}
