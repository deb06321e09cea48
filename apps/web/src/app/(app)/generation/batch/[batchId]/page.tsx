import type { Metadata } from "next";
import { BatchProgressRoute } from "@/components/generation/batch-progress-route";

export const metadata: Metadata = { title: "Batch progress" };

export default async function BatchProgressRoutePage({ params }: { readonly params: Promise<{ batchId: string }> }) {
  const { batchId } = await params;
  return <BatchProgressRoute batchId={batchId} />;
}
