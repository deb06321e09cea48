import type { Metadata } from "next";

export const metadata: Metadata = { title: "Batches" };

export default function BatchesPage() {
  return (
    <section aria-labelledby="batches-heading" className="grid gap-2">
      <h1 id="batches-heading" className="text-2xl font-semibold tracking-tight text-navy-deep">
        Batches
      </h1>
      <p className="text-muted-foreground">Your question batches will appear here.</p>
    </section>
  );
}
