import { questionExportQuerySchema } from "@batchgen/types";
import type { Request, Response } from "express";
import type { Logger } from "pino";
import { currentUser } from "../../middleware/auth.middleware.ts";
import { parseOrThrow } from "../../lib/validate.ts";
import type { QuestionExportService } from "../../services/generation/question-export.service.ts";
import { param } from "./batch.controller.ts";

/**
 * A download none of whose writes has gone through for five minutes is cut: it would hold a socket
 * and a page of rows for ever. The kernel takes writes in chunks of up to a few MB, so a client
 * reading slower than about 7 KB/s can be cut too (a minute would cut below about 35 KB/s).
 */
export const DEFAULT_DOWNLOAD_IDLE_MS = 300_000;

/** HTTP ↔ QuestionExportService: GET /api/v1/generation/batch/:batchId/questions?format=json|csv. */
export class QuestionExportController {
  constructor(
    private readonly exports: QuestionExportService,
    private readonly logger: Logger,
    private readonly options: { readonly idleMs: number } = { idleMs: DEFAULT_DOWNLOAD_IDLE_MS },
  ) {}

  handleQuestions = async (req: Request, res: Response): Promise<void> => {
    const { format } = parseOrThrow(questionExportQuerySchema, req.query, "query");
    const file = await this.exports.open(currentUser(req), param(req, "batchId"), format);
    res.status(200);
    res.setHeader("Content-Type", file.contentType);
    res.setHeader("Content-Disposition", `attachment; filename="${file.filename}"`);
    res.setHeader("Cache-Control", "no-store");
    // The socket's idle timer: any write the client takes restarts it; a client that stops reading
    // blocks the writes, and after idleMs the connection is closed (the file is then incomplete,
    // and the client sees a cut connection, never a file that looks whole).
    res.setTimeout(this.options.idleMs, () => {
      this.logger.info({ batchId: param(req, "batchId"), idleMs: this.options.idleMs }, "question download cut: the client took nothing");
      res.destroy();
    });
    try {
      await file.writeTo(res);
    } catch (error) {
      if (!res.headersSent) throw error;
      // Mid-download (the client left, or the database failed): a cut connection, never a file
      // that looks complete but is not.
      if (!res.destroyed) this.logger.warn({ err: error }, "question download interrupted");
      res.destroy();
    }
  };
}
