import type { ReactNode } from "react";
import { SignedInLayout } from "@/components/layout/signed-in-layout";

export default function AppLayout({ children }: { readonly children: ReactNode }) {
  return <SignedInLayout>{children}</SignedInLayout>;
}
