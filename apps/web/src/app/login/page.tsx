import type { Metadata } from "next";
import { Suspense } from "react";
import { LoginScreen } from "@/components/auth/login-screen";

export const metadata: Metadata = { title: "Sign in" };

export default function LoginPage() {
  // LoginScreen reads ?next= with useSearchParams, which needs a Suspense boundary to prerender.
  return (
    <Suspense>
      <LoginScreen />
    </Suspense>
  );
}
