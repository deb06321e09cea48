import type { Metadata } from "next";
import { Suspense } from "react";
import { LoginPanel } from "@/components/auth/login-panel";
import { Card, CardContent, CardDescription, CardHeader, CardTitle } from "@/components/ui/card";
import { Spinner } from "@/components/ui/spinner";
import { PRODUCT_NAME } from "@/lib/product";

export const metadata: Metadata = { title: "Sign in" };

export default function LoginPage() {
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
          {/* LoginPanel reads ?next= (useSearchParams), so it renders in the browser, inside this boundary. */}
          <Suspense fallback={<Spinner label="Loading the sign-in form…" />}>
            <LoginPanel />
          </Suspense>
        </CardContent>
      </Card>
    </main>
  );
}
