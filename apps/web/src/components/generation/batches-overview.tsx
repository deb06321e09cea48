"use client";

import { Plus } from "lucide-react";
import { useRouter } from "next/navigation";
import { BatchList } from "@/components/generation/batch-list";
import { FacultyOnly } from "@/components/generation/faculty-only";
import { NewBatchForm } from "@/components/generation/new-batch-form";
import { buttonVariants } from "@/components/ui/button";
import { Card, CardContent, CardDescription, CardHeader, CardTitle } from "@/components/ui/card";
import { useApiClient } from "@/lib/use-api-client";

/** /generation/batch: the caller's batches and the "New batch" form. */
export function BatchesOverview() {
  return (
    <FacultyOnly>
      <BatchesOverviewContent />
    </FacultyOnly>
  );
}

function BatchesOverviewContent() {
  const api = useApiClient();
  const router = useRouter();
  return (
    <div className="grid gap-6">
      <div className="flex flex-wrap items-center justify-between gap-3">
        <h1 id="batches-heading" className="text-2xl font-semibold tracking-tight text-navy-deep">
          Batches
        </h1>
        <a href="#new-batch" className={buttonVariants({ variant: "outline", size: "sm" })}>
          <Plus aria-hidden="true" />
          New batch
        </a>
      </div>
      <div className="grid items-start gap-6 lg:grid-cols-[minmax(0,1fr)_24rem]">
        {/* The page's h1 names this list; a second "…batches" heading would only repeat it. */}
        <section aria-labelledby="batches-heading" className="grid gap-3">
          <BatchList api={api} />
        </section>
        <Card id="new-batch" aria-labelledby="new-batch-heading" role="region" className="lg:sticky lg:top-4">
          <CardHeader>
            <CardTitle as="h2" id="new-batch-heading">
              New batch
            </CardTitle>
            <CardDescription>Generated questions appear on the batch&apos;s page as they finish.</CardDescription>
          </CardHeader>
          <CardContent>
            <NewBatchForm api={api} onCreated={(batch) => router.push(`/generation/batch/${batch.id}`)} />
          </CardContent>
        </Card>
      </div>
    </div>
  );
}
