import { pipeline } from "node:stream/promises";
import { Transform, type Writable } from "node:stream";
import type { Pool } from "@batchgen/db";
import type { AuthUser, GeneratedQuestion } from "@batchgen/types";
import { stringify } from "csv-stringify";
import QueryStream from "pg-query-stream";
import type { BatchService } from "./batch.service.ts";

export type QuestionExportFormat = "json" | "csv";

/** One exported question: the stored question and where it sits in the batch. */
export interface ExportedQuestion extends GeneratedQuestion {
  readonly position: number;
}

const CSV_COLUMNS = ["position", "stem", "option_a", "option_b", "option_c", "option_d", "option_e", "answer", "explanation"] as const;

/** Rows read from the database per round trip: what the export holds in memory at most, whatever the batch's size. */
const ROWS_PER_FETCH = 200;

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
 * Downloads of a batch's completed questions, in position order, as JSON or as CSV (RFC 4180:
 * CRLF line ends, fields quoted where needed, by csv-stringify). Rows come from a server-side
 * cursor a few hundred at a time and go out as the client reads them, so a 10,000-question batch
 * takes no more memory than a small one.
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
    const client = await this.pool.connect();
    let failure: unknown;
    try {
      const rows = client.query(
        new QueryStream(
          `SELECT position, result FROM batch_items WHERE batch_id = $1 AND status = 'completed' AND result IS NOT NULL ORDER BY position`,
          [batchId],
          { batchSize: ROWS_PER_FETCH },
        ),
      );
      const toQuestion = new Transform({
        objectMode: true,
        transform(row: { position: number; result: GeneratedQuestion }, _encoding, done) {
          done(null, { position: row.position, ...row.result } satisfies ExportedQuestion);
        },
      });
      const encode =
        format === "csv"
          ? [
              new Transform({
                objectMode: true,
                transform: (question: ExportedQuestion, _encoding, done) => done(null, csvRecord(question)),
              }),
              stringify({ header: true, columns: [...CSV_COLUMNS], record_delimiter: "windows" }),
            ]
          : [jsonArray()];
      await pipeline(rows, toQuestion, ...encode, target);
    } catch (error) {
      failure = error;
      throw error;
    } finally {
      // A connection whose cursor was cut off mid-read is not reused.
      client.release(failure instanceof Error ? failure : undefined);
    }
  }
}
