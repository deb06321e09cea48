import { render, screen } from "@testing-library/react";
import { describe, expect, it } from "vitest";
import { FacultyOnly } from "@/components/generation/faculty-only";
import { AuthProvider } from "@/lib/auth";
import { createFakeAuthClient, makeSession } from "@/test/fake-auth-client";

function renderAs(email: string, role: string | null) {
  const { client } = createFakeAuthClient(makeSession(email, role));
  render(
    <AuthProvider client={client}>
      <FacultyOnly>
        <h1>Batches</h1>
      </FacultyOnly>
    </AuthProvider>,
  );
}

describe("FacultyOnly", () => {
  it("shows the batch pages to faculty", async () => {
    renderAs("dr.jones@msm.edu", "faculty");
    expect(await screen.findByRole("heading", { name: "Batches" })).toBeInTheDocument();
  });

  it("tells a student in words that batches are for faculty", async () => {
    renderAs("student@msm.edu", "student");
    expect(await screen.findByRole("heading", { name: "Batches are for faculty" })).toBeInTheDocument();
    expect(screen.getByText(/signed in as student@msm\.edu, which has the student role\./)).toBeInTheDocument();
    expect(screen.queryByRole("heading", { name: "Batches" })).not.toBeInTheDocument();
  });
});
