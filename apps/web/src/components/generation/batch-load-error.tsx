import { CircleAlert, Lock, SearchX } from "lucide-react";
import Link from "next/link";
import { Button, buttonVariants } from "@/components/ui/button";
import { ApiNetworkError, ApiRequestError } from "@/lib/api";

export interface BatchLoadErrorProps {
  readonly error: unknown;
  readonly onRetry: () => void;
}

function describe(error: unknown): { icon: typeof Lock; title: string; text: string; retry: boolean } {
  if (error instanceof ApiRequestError && error.status === 403) {
    return {
      icon: Lock,
      title: "This batch is not yours",
      text: "It belongs to another faculty member. Only the person who created a batch can see its questions or pause, resume or cancel it.",
      retry: false,
    };
  }
  if (error instanceof ApiRequestError && error.status === 404) {
    return {
      icon: SearchX,
      title: "Batch not found",
      text: "There is no batch at this address. The link may be mistyped, or the batch may have been removed.",
      retry: false,
    };
  }
  if (error instanceof ApiNetworkError) {
    return { icon: CircleAlert, title: "Could not reach the server", text: error.message, retry: true };
  }
  const message = error instanceof Error ? error.message : "Something went wrong.";
  return { icon: CircleAlert, title: "Could not load this batch", text: message, retry: true };
}

/** The progress page's 403 / 404 / unreachable states, in words. */
export function BatchLoadError({ error, onRetry }: BatchLoadErrorProps) {
  const { icon: Icon, title, text, retry } = describe(error);
  return (
    <section aria-labelledby="batch-error-title" className="mx-auto grid max-w-lg gap-4 py-12" data-testid="batch-load-error">
      <Icon aria-hidden="true" className="size-8 text-navy-deep" />
      <h1 id="batch-error-title" className="text-2xl font-semibold text-navy-deep">
        {title}
      </h1>
      <p className="text-muted-foreground">{text}</p>
      <div className="flex flex-wrap gap-2">
        {retry ? <Button onClick={onRetry}>Try again</Button> : null}
        <Link href="/generation/batch" className={buttonVariants({ variant: "outline" })}>
          Go to your batches
        </Link>
      </div>
    </section>
  );
}
