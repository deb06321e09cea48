import { expect, test } from "@playwright/test";
import { accessToken, apiUrl, DEMO, expectAccessible, screenshot, signIn } from "./support.ts";

test("dr.jones signs in through the real page, sees the shell, and the API accepts the token", async ({ page }) => {
  await page.goto("/generation/batch");
  await expect(page).toHaveURL(/\/login/);
  await expect(page.getByRole("button", { name: "Sign in" })).toBeVisible();
  await expectAccessible(page, "login");

  await page.getByLabel("Email").fill(DEMO.jones.email);
  await page.getByLabel("Password").fill("not-the-password");
  await page.getByRole("button", { name: "Sign in" }).click();
  await expect(page.getByTestId("sign-in-error")).toContainText("Wrong email or password");
  await expectAccessible(page, "login with a wrong password");
  await screenshot(page, "sign-in-wrong-password");

  await signIn(page, DEMO.jones);
  await expect(page.getByTestId("user-role")).toHaveText("Faculty");
  await expect(page.getByRole("heading", { name: "Batches" })).toBeVisible();
  await expectAccessible(page, "signed-in shell");
  await screenshot(page, "signed-in-shell");

  // The session survives a reload.
  await page.reload();
  await expect(page.getByTestId("user-email")).toHaveText(DEMO.jones.email);

  const token = await accessToken(DEMO.jones);
  const me = await fetch(`${apiUrl()}/api/v1/me`, { headers: { Authorization: `Bearer ${token}` } });
  expect(me.status).toBe(200);
  expect(((await me.json()) as { data: { email: string; role: string } }).data).toMatchObject({ email: DEMO.jones.email, role: "faculty" });
  expect((await fetch(`${apiUrl()}/api/v1/me`)).status).toBe(401);

  await page.getByRole("button", { name: "Sign out" }).click();
  await expect(page).toHaveURL(/\/login/);
});
