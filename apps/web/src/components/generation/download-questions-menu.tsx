"use client";

import { ChevronDown, Download, FileJson, FileSpreadsheet } from "lucide-react";
import { useRef, useState } from "react";
import { Button } from "@/components/ui/button";
import { DropdownMenu, DropdownMenuContent, DropdownMenuItem, DropdownMenuTrigger } from "@/components/ui/dropdown-menu";
import { Spinner } from "@/components/ui/spinner";
import { ApiNetworkError, ApiRequestError, type ApiClient } from "@/lib/api";
import { downloadBatchQuestions, type QuestionFileFormat } from "@/lib/batch-api";
import { saveFile } from "@/lib/save-file";
import { cn } from "@/lib/utils";

const FORMAT_NAME: Record<QuestionFileFormat, string> = { csv: "CSV", json: "JSON" };

/** A failed download, in words. */
export function describeDownloadError(format: QuestionFileFormat, error: unknown): string {
  const what = `Could not download the questions as ${FORMAT_NAME[format]}`;
  if (error instanceof ApiNetworkError) return `${what}: the server could not be reached, or the download was cut off. Try again.`;
  if (error instanceof ApiRequestError) return `${what}: ${error.message}`;
  return `${what}. Try again.`;
}

export interface DownloadQuestionsMenuProps {
  readonly api: ApiClient;
  readonly batchId: string;
  /** Names the batch for screen readers where several menus share a page (the list). */
  readonly topic?: string;
  readonly size?: "default" | "sm";
  readonly className?: string;
  /** Test seam: what happens to the file (default: the browser saves it). */
  readonly onSave?: (blob: Blob, filename: string) => void;
}

/**
 * "Download" ▾ CSV / JSON: every completed question of the batch. The API wants the Bearer token,
 * which a plain link cannot send, so the file is fetched with it and handed to the browser through
 * an object URL. A failure is said in words next to the button.
 */
export function DownloadQuestionsMenu({ api, batchId, topic, size = "default", className, onSave = saveFile }: DownloadQuestionsMenuProps) {
  const [busy, setBusy] = useState<QuestionFileFormat | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [saved, setSaved] = useState<string | null>(null);
  // State lands after the handler returns; the ref stops a second download in between.
  const inFlight = useRef(false);

  async function download(format: QuestionFileFormat): Promise<void> {
    if (inFlight.current) return;
    inFlight.current = true;
    setBusy(format);
    setError(null);
    setSaved(null);
    try {
      const file = await downloadBatchQuestions(api, batchId, format);
      onSave(file.blob, file.filename);
      setSaved(`Downloaded ${file.filename}`);
    } catch (caught) {
      setError(describeDownloadError(format, caught));
    } finally {
      inFlight.current = false;
      setBusy(null);
    }
  }

  return (
    <div className={cn("grid justify-items-start gap-1", className)}>
      <DropdownMenu modal={false}>
        <DropdownMenuTrigger asChild>
          <Button
            variant="outline"
            size={size}
            // In the list every row has one: the name says whose questions (and starts with the visible word).
            aria-label={topic ? `Download the questions of ${topic}` : undefined}
            aria-busy={busy !== null || undefined}
            aria-disabled={busy !== null || undefined}
            onKeyDownCapture={(event) => {
              // While a download runs the menu stays shut (aria-disabled keeps the focus in place).
              if (busy !== null && ["Enter", " ", "ArrowDown", "ArrowUp"].includes(event.key)) event.preventDefault();
            }}
            onPointerDownCapture={(event) => {
              if (busy !== null) event.preventDefault();
            }}
          >
            {busy !== null ? <Spinner /> : <Download aria-hidden="true" />}
            Download
            <ChevronDown aria-hidden="true" />
          </Button>
        </DropdownMenuTrigger>
        {/* Radix names the menu after its trigger (aria-labelledby). */}
        <DropdownMenuContent align="end">
          <DropdownMenuItem onSelect={() => void download("csv")}>
            <FileSpreadsheet aria-hidden="true" />
            CSV (spreadsheet)
          </DropdownMenuItem>
          <DropdownMenuItem onSelect={() => void download("json")}>
            <FileJson aria-hidden="true" />
            JSON
          </DropdownMenuItem>
        </DropdownMenuContent>
      </DropdownMenu>
      <p role="status" aria-live="polite" className="sr-only">
        {busy !== null ? `Downloading the questions as ${FORMAT_NAME[busy]}…` : (saved ?? "")}
      </p>
      {error ? (
        <p role="alert" className="max-w-sm text-sm text-destructive">
          {error}
        </p>
      ) : null}
    </div>
  );
}
