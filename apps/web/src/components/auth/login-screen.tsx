"use client";

import { useRouter, useSearchParams } from "next/navigation";
import { useEffect } from "react";
import { LoginForm } from "@/components/auth/login-form";
import { Card, CardContent, CardDescription, CardHeader, CardTitle } from "@/components/ui/card";
import { Spinner } from "@/components/ui/spinner";
import { useAuth } from "@/lib/auth";
import { safeRedirectPath } from "@/lib/auth-errors";
import { PRODUCT_NAME } from "@/lib/product";

/** The /login page body: the form, and the way back to where the user was going once signed in. */
export function LoginScreen() {
  const { state } = useAuth();
  const router = useRouter();
  const searchParams = useSearchParams();
  const next = safeRedirectPath(searchParams.get("next"));

  useEffect(() => {
    if (state.status === "signed-in") router.replace(next);
  }, [state.status, next, router]);

  return (
    <main id="main" className="flex min-h-dvh items-center justify-center bg-muted px-4 py-12">
      <Card className="w-full max-w-sm">
        <CardHeader>
          <p className="text-sm font-semibold uppercase tracking-wide text-navy-deep">{PRODUCT_NAME}</p>
          <CardTitle as="h1" className="text-2xl">
            Sign in
          </CardTitle>
          <CardDescription>Generate and manage batches of exam questions.</CardDescription>
        </CardHeader>
        <CardContent>
          {state.status === "signed-in" ? (
            <Spinner label="Signed in. Opening your batches…" />
          ) : (
            <LoginForm />
          )}
        </CardContent>
      </Card>
    </main>
  );
}
