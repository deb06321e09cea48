import type { Metadata } from "next";
import { BatchesOverview } from "@/components/generation/batches-overview";

export const metadata: Metadata = { title: "Batches" };

export default function BatchesPage() {
  return <BatchesOverview />;
}
