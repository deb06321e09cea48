"use client";

import type { AppRole } from "@batchgen/types";
import { ListChecks, LogOut } from "lucide-react";
import Link from "next/link";
import { useState, type ReactNode } from "react";
import { Badge } from "@/components/ui/badge";
import { Button } from "@/components/ui/button";
import { Spinner } from "@/components/ui/spinner";
import { PRODUCT_NAME } from "@/lib/product";
import { cn } from "@/lib/utils";

const NAV_ITEMS = [{ href: "/generation/batch", label: "Batches" }] as const;

const ROLE_LABELS: Record<AppRole, string> = { faculty: "Faculty", student: "Student", admin: "Admin" };

export function roleLabel(role: AppRole | null): string {
  return role ? ROLE_LABELS[role] : "No role";
}

export interface AppShellProps {
  readonly email: string;
  /** The app role (`app_metadata.role`); named so it is not mistaken for an ARIA role. */
  readonly appRole: AppRole | null;
  /** The current path, to mark the active navigation link. */
  readonly pathname: string;
  readonly onSignOut: () => Promise<void>;
  readonly children: ReactNode;
}

/** The signed-in frame: product name, navigation, who is signed in (and as what), Sign out. */
export function AppShell({ email, appRole, pathname, onSignOut, children }: AppShellProps) {
  const [signingOut, setSigningOut] = useState(false);

  async function signOut() {
    setSigningOut(true);
    try {
      await onSignOut();
    } finally {
      setSigningOut(false);
    }
  }

  return (
    <div className="flex min-h-dvh flex-col bg-muted/40">
      <a
        href="#main"
        className="sr-only focus:not-sr-only focus:absolute focus:left-4 focus:top-4 focus:z-50 focus:rounded-md focus:bg-background focus:px-3 focus:py-2 focus:ring-2 focus:ring-ring"
      >
        Skip to content
      </a>
      <header className="border-b border-border bg-background">
        <div className="mx-auto flex max-w-6xl flex-wrap items-center gap-x-6 gap-y-3 px-4 py-3">
          <Link
            href="/generation/batch"
            className="flex items-center gap-2 rounded-sm text-base font-semibold text-navy-deep outline-none focus-visible:ring-2 focus-visible:ring-ring focus-visible:ring-offset-2"
          >
            <ListChecks aria-hidden="true" className="size-5" />
            {PRODUCT_NAME}
          </Link>
          <nav aria-label="Main">
            <ul className="flex items-center gap-1">
              {NAV_ITEMS.map((item) => {
                const active = pathname === item.href || pathname.startsWith(`${item.href}/`);
                return (
                  <li key={item.href}>
                    <Link
                      href={item.href}
                      aria-current={active ? "page" : undefined}
                      className={cn(
                        "rounded-md px-3 py-2 text-sm font-medium outline-none hover:bg-muted focus-visible:ring-2 focus-visible:ring-ring",
                        active ? "bg-muted text-navy-deep underline underline-offset-4" : "text-muted-foreground",
                      )}
                    >
                      {item.label}
                    </Link>
                  </li>
                );
              })}
            </ul>
          </nav>
          <div className="ml-auto flex items-center gap-3">
            <p className="flex items-center gap-2 text-sm">
              <span className="sr-only">Signed in as </span>
              <span className="font-medium" data-testid="user-email">
                {email}
              </span>
              <Badge variant={appRole === "faculty" ? "default" : "secondary"}>
                <span className="sr-only">Role: </span>
                <span data-testid="user-role">{roleLabel(appRole)}</span>
              </Badge>
            </p>
            <Button
              variant="outline"
              size="sm"
              onClick={() => void signOut()}
              disabled={signingOut}
              aria-busy={signingOut || undefined}
            >
              {signingOut ? <Spinner /> : <LogOut aria-hidden="true" />}
              Sign out
            </Button>
          </div>
        </div>
      </header>
      <main id="main" tabIndex={-1} className="mx-auto w-full max-w-6xl flex-1 px-4 py-8 outline-none">
        {children}
      </main>
    </div>
  );
}
