import Link from "next/link";
import { buttonVariants } from "@/components/ui/button";

export default function NotFound() {
  return (
    <main id="main" className="mx-auto flex min-h-dvh max-w-md flex-col items-start justify-center gap-4 px-4">
      <h1 className="text-2xl font-semibold text-navy-deep">Page not found</h1>
      <p className="text-muted-foreground">There is nothing at this address.</p>
      <Link href="/generation/batch" className={buttonVariants({ variant: "outline" })}>
        Go to your batches
      </Link>
    </main>
  );
}
