"use client";

import { Lock } from "lucide-react";
import type { ReactNode } from "react";
import { useAuth } from "@/lib/auth";

/**
 * Batches are a faculty tool (the API answers 403 to anyone else). Say so plainly instead of
 * letting a student run into "not yours" errors. The API still decides; this is only the wording.
 */
export function FacultyOnly({ children }: { readonly children: ReactNode }) {
  const { state } = useAuth();
  if (state.status === "signed-in" && state.user.role !== "faculty") {
    return (
      <section aria-labelledby="faculty-only-title" className="mx-auto grid max-w-lg gap-4 py-12" data-testid="faculty-only">
        <Lock aria-hidden="true" className="size-8 text-navy-deep" />
        <h1 id="faculty-only-title" className="text-2xl font-semibold text-navy-deep">
          Batches are for faculty
        </h1>
        <p className="text-muted-foreground">
          Only faculty members can generate question batches. You are signed in as {state.user.email}
          {state.user.role ? `, which has the ${state.user.role} role.` : ", which has no role yet."} Ask an administrator if you
          need faculty access.
        </p>
      </section>
    );
  }
  return children;
}
