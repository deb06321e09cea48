import http, { type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";

/** One request the proxy handed to an upstream. */
export interface ProxiedRequest {
  readonly upstream: number;
  readonly method: string;
  readonly path: string;
}

export interface RoundRobinProxy {
  readonly url: string;
  /** Every request handed to an upstream (not those it refused), in the order they were sent. */
  readonly served: readonly ProxiedRequest[];
  /** Requests sent to an upstream whose answer has not ended yet. */
  inFlight(): readonly ProxiedRequest[];
  close(): Promise<void>;
}

/**
 * The load balancer of the scale-out test and benchmark: a few lines of node:http on 127.0.0.1.
 * Each request goes to the next upstream in turn (no stickiness); when an upstream refuses the
 * connection (its process is dead) the same request goes to the next one, as a balancer's health
 * check would arrange. Responses stream through (server-sent events included); a client that goes
 * away closes its upstream request.
 */
export async function startRoundRobinProxy(upstreams: readonly string[]): Promise<RoundRobinProxy> {
  const targets = upstreams.map((upstream) => new URL(upstream));
  const served: ProxiedRequest[] = [];
  const active = new Set<ProxiedRequest>();
  let turn = 0;

  const forward = (req: IncomingMessage, res: ServerResponse, body: Buffer, index: number, tries: number) => {
    const target = targets[index]!;
    const record: ProxiedRequest = { upstream: index, method: req.method ?? "GET", path: req.url ?? "/" };
    const upstream = http.request(
      { hostname: target.hostname, port: target.port, method: req.method, path: req.url, headers: { ...req.headers, host: target.host } },
      (answer) => {
        answer.on("close", () => active.delete(record));
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
      },
    );
    served.push(record);
    active.add(record);
    upstream.on("error", (error: NodeJS.ErrnoException) => {
      active.delete(record);
      if (!res.headersSent && error.code === "ECONNREFUSED" && tries + 1 < targets.length) {
        // Never reached that upstream: not served there.
        served.splice(served.lastIndexOf(record), 1);
        forward(req, res, body, (index + 1) % targets.length, tries + 1);
      } else if (!res.headersSent) {
        res.writeHead(502, { "content-type": "application/json" }).end(JSON.stringify({ data: null, error: { code: "BAD_GATEWAY", message: error.message } }));
      } else {
        res.destroy();
      }
    });
    res.on("close", () => {
      if (!res.writableFinished) upstream.destroy();
    });
    upstream.end(body);
  };

  const server: Server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (chunk: Buffer) => chunks.push(chunk));
    req.on("end", () => {
      const index = turn % targets.length;
      turn += 1;
      forward(req, res, Buffer.concat(chunks), index, 0);
    });
  });
  server.keepAliveTimeout = 5_000;
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    served,
    inFlight: () => [...active],
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
