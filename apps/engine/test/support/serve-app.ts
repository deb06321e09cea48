import type { Server } from "node:http";
import type { AddressInfo } from "node:net";
import express from "express";
import type { Inngest, InngestFunction } from "inngest";
import { serve } from "inngest/express";

export interface ServedApp {
  readonly url: string;
  close(): Promise<void>;
}

/** Serves SDK functions with inngest/express on 127.0.0.1 and a free port (or `port`). */
export async function serveFunctions(client: Inngest.Any, functions: InngestFunction.Any[], port = 0): Promise<ServedApp> {
  const app = express();
  app.use(express.json({ limit: "20mb" }));
  app.use("/api/inngest", serve({ client, functions }));
  const server: Server = await new Promise((resolve, reject) => {
    const listening = app.listen(port, "127.0.0.1", () => resolve(listening));
    listening.once("error", reject);
  });
  const address = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${address.port}/api/inngest`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
