import { render, screen, waitFor, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { beforeEach, describe, expect, it, vi } from "vitest";
import { AppShell } from "@/components/layout/app-shell";
import { SignedInLayout } from "@/components/layout/signed-in-layout";
import { AuthProvider } from "@/lib/auth";
import { createFakeAuthClient, makeSession } from "@/test/fake-auth-client";

const navigation = vi.hoisted(() => ({ replace: vi.fn(), pathname: "/generation/batch" }));

vi.mock("next/navigation", () => ({
  useRouter: () => ({ replace: navigation.replace, push: vi.fn(), prefetch: vi.fn() }),
  usePathname: () => navigation.pathname,
}));

beforeEach(() => {
  navigation.replace.mockReset();
  window.history.replaceState(null, "", "/generation/batch?tab=mine");
});

describe("AppShell", () => {
  it("shows the product name, the navigation, the user's email and role, and Sign out", () => {
    render(
      <AppShell email="dr.jones@msm.edu" appRole="faculty" pathname="/generation/batch" onSignOut={async () => {}}>
        <h1>Batches</h1>
      </AppShell>,
    );
    const banner = screen.getByRole("banner");
    expect(within(banner).getByRole("link", { name: "Question Batches" })).toHaveAttribute("href", "/generation/batch");
    const nav = screen.getByRole("navigation", { name: "Main" });
    expect(within(nav).getByRole("link", { name: "Batches" })).toHaveAttribute("aria-current", "page");
    expect(within(banner).getByText("dr.jones@msm.edu")).toBeInTheDocument();
    expect(within(banner).getByText("Faculty")).toBeInTheDocument();
    expect(within(banner).getByTestId("user-email")).toHaveTextContent(/^dr\.jones@msm\.edu$/);
    expect(within(banner).getByTestId("user-role")).toHaveTextContent(/^Faculty$/);
    expect(within(banner).getByRole("button", { name: "Sign out" })).toBeEnabled();
    expect(within(screen.getByRole("main")).getByRole("heading", { name: "Batches" })).toBeInTheDocument();
  });

  it("shows a student as a student", () => {
    render(
      <AppShell email="student@msm.edu" appRole="student" pathname="/generation/batch" onSignOut={async () => {}}>
        <p>content</p>
      </AppShell>,
    );
    expect(screen.getByText("student@msm.edu")).toBeInTheDocument();
    expect(screen.getByText("Student")).toBeInTheDocument();
  });

  it("calls onSignOut once and disables the button meanwhile", async () => {
    let finish: () => void = () => {};
    const onSignOut = vi.fn(() => new Promise<void>((resolve) => (finish = resolve)));
    render(
      <AppShell email="dr.jones@msm.edu" appRole="faculty" pathname="/generation/batch" onSignOut={onSignOut}>
        <p>content</p>
      </AppShell>,
    );
    const button = screen.getByRole("button", { name: "Sign out" });
    await userEvent.setup().click(button);
    expect(onSignOut).toHaveBeenCalledTimes(1);
    expect(button).toBeDisabled();
    finish();
    await waitFor(() => expect(button).toBeEnabled());
  });
});

describe("SignedInLayout", () => {
  it("shows the signed-in user's email and role from the session's app_metadata", async () => {
    const { client } = createFakeAuthClient(makeSession("dr.jones@msm.edu", "faculty"));
    render(
      <AuthProvider client={client}>
        <SignedInLayout>
          <h1>Batches</h1>
        </SignedInLayout>
      </AuthProvider>,
    );
    expect(await screen.findByText("dr.jones@msm.edu")).toBeInTheDocument();
    expect(screen.getByText("Faculty")).toBeInTheDocument();
    expect(navigation.replace).not.toHaveBeenCalled();
  });

  it("says 'No role' for an account without an app role", async () => {
    const { client } = createFakeAuthClient(makeSession("nobody@msm.edu", null));
    render(
      <AuthProvider client={client}>
        <SignedInLayout>
          <p>content</p>
        </SignedInLayout>
      </AuthProvider>,
    );
    expect(await screen.findByText("No role")).toBeInTheDocument();
  });

  it("sends a signed-out visitor to /login with the page they wanted", async () => {
    const { client } = createFakeAuthClient(null);
    render(
      <AuthProvider client={client}>
        <SignedInLayout>
          <p>secret</p>
        </SignedInLayout>
      </AuthProvider>,
    );
    await waitFor(() =>
      expect(navigation.replace).toHaveBeenCalledWith(`/login?next=${encodeURIComponent("/generation/batch?tab=mine")}`),
    );
    expect(screen.queryByText("secret")).not.toBeInTheDocument();
  });

  it("signs out through supabase-js and goes to /login", async () => {
    const { client } = createFakeAuthClient(makeSession());
    render(
      <AuthProvider client={client}>
        <SignedInLayout>
          <p>content</p>
        </SignedInLayout>
      </AuthProvider>,
    );
    await userEvent.setup().click(await screen.findByRole("button", { name: "Sign out" }));
    expect(client.signOut).toHaveBeenCalledTimes(1);
    await waitFor(() => expect(navigation.replace).toHaveBeenCalledWith("/login"));
  });

  it("still forgets the session locally when the auth server cannot be reached for sign-out", async () => {
    const { client } = createFakeAuthClient(makeSession());
    client.signOut.mockResolvedValueOnce({ error: new Error("Failed to fetch") });
    render(
      <AuthProvider client={client}>
        <SignedInLayout>
          <p>content</p>
        </SignedInLayout>
      </AuthProvider>,
    );
    await userEvent.setup().click(await screen.findByRole("button", { name: "Sign out" }));
    await waitFor(() => expect(client.signOut).toHaveBeenLastCalledWith({ scope: "local" }));
    await waitFor(() => expect(navigation.replace).toHaveBeenCalledWith("/login"));
  });
});
