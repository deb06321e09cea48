import { AuthApiError, AuthRetryableFetchError } from "@supabase/supabase-js";
import { render, screen, waitFor } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { describe, expect, it } from "vitest";
import { LoginForm } from "@/components/auth/login-form";
import { AuthProvider } from "@/lib/auth";
import { createFakeAuthClient } from "@/test/fake-auth-client";

function renderForm() {
  const fake = createFakeAuthClient();
  render(
    <AuthProvider client={fake.client}>
      <LoginForm />
    </AuthProvider>,
  );
  return fake;
}

async function fillIn(email: string, password: string) {
  const user = userEvent.setup();
  await user.type(screen.getByRole("textbox", { name: "Email" }), email);
  await user.type(screen.getByLabelText("Password"), password);
  return user;
}

describe("LoginForm", () => {
  it("labels its fields and its submit button", () => {
    renderForm();
    expect(screen.getByRole("form", { name: "Sign in" })).toBeInTheDocument();
    expect(screen.getByRole("textbox", { name: "Email" })).toHaveAttribute("autocomplete", "username");
    expect(screen.getByLabelText("Password")).toHaveAttribute("type", "password");
    expect(screen.getByRole("button", { name: "Sign in" })).toBeEnabled();
  });

  it("calls signInWithPassword with the typed values", async () => {
    const { client } = renderForm();
    const user = await fillIn("dr.jones@msm.edu", "correct horse");
    await user.click(screen.getByRole("button", { name: "Sign in" }));
    await waitFor(() => expect(client.signInWithPassword).toHaveBeenCalledTimes(1));
    expect(client.signInWithPassword).toHaveBeenCalledWith({ email: "dr.jones@msm.edu", password: "correct horse" });
  });

  it("disables submit while the sign-in is pending, and only sends one request", async () => {
    const { client } = renderForm();
    let finish: (value: Awaited<ReturnType<typeof client.signInWithPassword>>) => void = () => {};
    client.signInWithPassword.mockImplementationOnce(
      () => new Promise((resolve) => (finish = resolve as typeof finish)),
    );
    const user = await fillIn("dr.jones@msm.edu", "pw");
    const submit = screen.getByRole("button", { name: "Sign in" });
    await user.click(submit);
    expect(submit).toBeDisabled();
    expect(submit).toHaveAttribute("aria-busy", "true");
    await user.click(submit);
    expect(client.signInWithPassword).toHaveBeenCalledTimes(1);

    finish({ data: { user: null, session: null }, error: new AuthApiError("Invalid login credentials", 400, "invalid_credentials") } as never);
    await waitFor(() => expect(submit).toBeEnabled());
  });

  it("shows a wrong password inline, in words, in an alert", async () => {
    const { client } = renderForm();
    client.signInWithPassword.mockResolvedValueOnce({
      data: { user: null, session: null },
      error: new AuthApiError("Invalid login credentials", 400, "invalid_credentials"),
    } as never);
    const user = await fillIn("dr.jones@msm.edu", "wrong");
    await user.click(screen.getByRole("button", { name: "Sign in" }));

    const alert = await screen.findByRole("alert");
    expect(alert).toHaveTextContent("Wrong email or password");
    expect(screen.getByRole("textbox", { name: "Email" })).toHaveAttribute("aria-invalid", "true");
    expect(screen.getByRole("textbox", { name: "Email" })).toHaveAccessibleDescription(/Wrong email or password/);
  });

  it("says so when the sign-in server cannot be reached", async () => {
    const { client } = renderForm();
    client.signInWithPassword.mockResolvedValueOnce({
      data: { user: null, session: null },
      error: new AuthRetryableFetchError("Failed to fetch", 0),
    } as never);
    const user = await fillIn("dr.jones@msm.edu", "pw");
    await user.click(screen.getByRole("button", { name: "Sign in" }));
    expect(await screen.findByRole("alert")).toHaveTextContent(/Cannot reach the sign-in server at http:\/\/127\.0\.0\.1:54321/);
  });

  it("asks for both fields instead of sending an empty sign-in", async () => {
    const { client } = renderForm();
    const user = userEvent.setup();
    await user.click(screen.getByRole("button", { name: "Sign in" }));
    expect(await screen.findByRole("alert")).toHaveTextContent("Enter your email address and your password.");
    expect(client.signInWithPassword).not.toHaveBeenCalled();
  });
});
