"use client";

import { usePathname, useRouter } from "next/navigation";
import { useEffect, type ReactNode } from "react";
import { AppShell } from "@/components/layout/app-shell";
import { Spinner } from "@/components/ui/spinner";
import { useAuth } from "@/lib/auth";

/**
 * Gate for every signed-in page. The session lives in the browser (localStorage), so the check
 * happens here, on the client: signed out → /login?next=<where the user was going>.
 */
export function SignedInLayout({ children }: { readonly children: ReactNode }) {
  const { state, signOut } = useAuth();
  const router = useRouter();
  const pathname = usePathname();

  useEffect(() => {
    if (state.status !== "signed-out") return;
    if (state.reason === "user") {
      router.replace("/login");
      return;
    }
    const target = `${window.location.pathname}${window.location.search}`;
    router.replace(`/login?next=${encodeURIComponent(target)}`);
  }, [state, router]);

  if (state.status !== "signed-in") {
    return (
      <div className="flex min-h-dvh items-center justify-center">
        <Spinner
          className="size-6 text-navy-deep"
          label={state.status === "loading" ? "Checking your session…" : "Redirecting to sign in…"}
        />
      </div>
    );
  }

  return (
    <AppShell email={state.user.email} appRole={state.user.role} pathname={pathname} onSignOut={signOut}>
      {children}
    </AppShell>
  );
}
