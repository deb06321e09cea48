import { pipeline } from "node:stream/promises";
import { Readable, Transform, type Writable } from "node:stream";
import type { Pool } from "@batchgen/db";
import type { AuthUser, GeneratedQuestion } from "@batchgen/types";
import { stringify } from "csv-stringify";
import type { BatchService } from "./batch.service.ts";

export type QuestionExportFormat = "json" | "csv";

/** One exported question: the stored question and where it sits in the batch. */
export interface ExportedQuestion extends GeneratedQuestion {
  readonly position: number;
}

const CSV_COLUMNS = ["position", "stem", "option_a", "option_b", "option_c", "option_d", "option_e", "answer", "explanation"] as const;

/** Rows read from the database per query: what the export holds in memory at most, whatever the batch's size. */
export const ROWS_PER_PAGE = 200;

function csvRecord(question: ExportedQuestion): Record<(typeof CSV_COLUMNS)[number], string | number> {
  const option = (label: string) => question.options.find((each) => each.label === label)?.text ?? "";
  return {
    position: question.position,
    stem: question.stem,
    option_a: option("A"),
    option_b: option("B"),
    option_c: option("C"),
    option_d: option("D"),
    option_e: option("E"),
    answer: question.answer,
    explanation: question.explanation,
  };
}

/** A JSON array written one element at a time: `[`, the questions separated by commas, `]`. */
function jsonArray(): Transform {
  let first = true;
  return new Transform({
    writableObjectMode: true,
    transform(question: ExportedQuestion, _encoding, done) {
      const prefix = first ? "[\n" : ",\n";
      first = false;
      done(null, prefix + JSON.stringify(question));
    },
    flush(done) {
      done(null, first ? "[]\n" : "\n]\n");
    },
  });
}

/**
 * A batch's completed questions in position order, one page of `ROWS_PER_PAGE` per query (keyset:
 * `position > last`, on the (batch_id, position) unique index). The next page is read only when the
 * stream's reader asks for more, and each query takes a pooled connection only for itself, so a
 * download whose client reads slowly, or not at all, holds no database connection while it waits.
 */
async function* completedQuestions(pool: Pool, batchId: string): AsyncGenerator<ExportedQuestion> {
  let after = -1;
  for (;;) {
    const { rows } = await pool.query<{ position: number; result: GeneratedQuestion }>(
      `SELECT position, result FROM batch_items
        WHERE batch_id = $1 AND position > $2 AND status = 'completed' AND result IS NOT NULL
        ORDER BY position LIMIT $3`,
      [batchId, after, ROWS_PER_PAGE],
    );
    for (const row of rows) yield { position: row.position, ...row.result };
    if (rows.length < ROWS_PER_PAGE) return;
    after = rows[rows.length - 1]!.position;
  }
}

/**
 * Downloads of a batch's completed questions, in position order, as JSON or as CSV (RFC 4180:
 * CRLF line ends, fields quoted where needed, by csv-stringify). Rows are read a page at a time as
 * the client reads (see `completedQuestions`), so a 10,000-question batch takes no more memory than
 * a small one and a stalled reader takes no database connection. The file is what was completed
 * as it is read: for a batch that has ended (the usual case) that is every completed question; for
 * one still running, a question completed behind the page being read appears in the next download.
 */
export class QuestionExportService {
  constructor(
    private readonly pool: Pool,
    private readonly batches: Pick<BatchService, "getOwnedBatch">,
  ) {}

  /** Owner only (404 / 403 first); then streams into `target`, resolving when it is all written. */
  async open(user: AuthUser, batchId: string, format: QuestionExportFormat) {
    const batch = await this.batches.getOwnedBatch(user, batchId);
    return {
      filename: `batch-${batch.id}-questions.${format}`,
      contentType: format === "csv" ? "text/csv; charset=utf-8; header=present" : "application/json; charset=utf-8",
      writeTo: (target: Writable) => this.stream(batch.id, format, target),
    };
  }

  private async stream(batchId: string, format: QuestionExportFormat, target: Writable): Promise<void> {
    // highWaterMark 1: read a page only when the one before it has been handed on.
    const questions = Readable.from(completedQuestions(this.pool, batchId), { objectMode: true, highWaterMark: 1 });
    if (format === "json") {
      await pipeline(questions, jsonArray(), target);
      return;
    }
    const toRecord = new Transform({
      objectMode: true,
      transform: (question: ExportedQuestion, _encoding, done) => done(null, csvRecord(question)),
    });
    await pipeline(questions, toRecord, stringify({ header: true, columns: [...CSV_COLUMNS], record_delimiter: "windows" }), target);
  }
}
