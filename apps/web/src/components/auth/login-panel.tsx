"use client";

import { useRouter, useSearchParams } from "next/navigation";
import { useEffect } from "react";
import { LoginForm } from "@/components/auth/login-form";
import { Spinner } from "@/components/ui/spinner";
import { useAuth } from "@/lib/auth";
import { safeRedirectPath } from "@/lib/auth-errors";

/** The form, plus the way back to where the user was going (`?next=`) once signed in. */
export function LoginPanel() {
  const { state } = useAuth();
  const router = useRouter();
  const searchParams = useSearchParams();
  const next = safeRedirectPath(searchParams.get("next"));

  useEffect(() => {
    if (state.status === "signed-in") router.replace(next);
  }, [state.status, next, router]);

  if (state.status === "signed-in") return <Spinner label="Signed in. Opening your batches…" />;
  return <LoginForm />;
}
