"use client";

import { BatchProgressPage } from "@/components/generation/batch-progress-page";
import { FacultyOnly } from "@/components/generation/faculty-only";
import { useAuth } from "@/lib/auth";
import { useApiClient } from "@/lib/use-api-client";

/** The progress page with the signed-in user's API client and token. */
export function BatchProgressRoute({ batchId }: { readonly batchId: string }) {
  const api = useApiClient();
  const { getAccessToken } = useAuth();
  return (
    <FacultyOnly>
      <BatchProgressPage key={batchId} batchId={batchId} api={api} getAccessToken={getAccessToken} />
    </FacultyOnly>
  );
}
