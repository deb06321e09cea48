import { once } from "node:events";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { createPool } from "@batchgen/db";
import type { Pool } from "@batchgen/db";
import { createAuthApp } from "./app.ts";
import type { AuthLog } from "./app.ts";
import { generateSigningKey, loadOrCreateSigningKey } from "./keys.ts";
import type { SigningKey } from "./keys.ts";
import { assertNotProduction } from "./production-guard.ts";
import { issuerFor } from "./tokens.ts";

export const DEFAULT_AUTH_PORT = 54321;
export const DEFAULT_AUTH_HOST = "127.0.0.1";

export interface StartAuthServerOptions {
  /** Used when no `pool` is given; the server then owns (and closes) its pool. */
  readonly databaseUrl?: string;
  /** A pool the caller owns; `close()` leaves it open. */
  readonly pool?: Pool;
  /** 0 picks a free port. */
  readonly port?: number;
  readonly host?: string;
  /** The SUPABASE_URL clients use; the tokens' `iss` is `<siteUrl>/auth/v1`. Defaults to this server's own URL. */
  readonly siteUrl?: string;
  /** Where the private signing key is kept across restarts (e.g. `.data/auth`). */
  readonly keyDir?: string;
  /** An explicit key (tests share one with their token factory); wins over `keyDir`. */
  readonly signingKey?: SigningKey;
  readonly accessTokenTtlSeconds?: number;
  readonly refreshTokenReuseIntervalSeconds?: number;
  readonly allowedOrigins?: readonly string[];
  readonly log?: AuthLog;
}

export interface AuthServer {
  /** Base URL of the server, e.g. http://127.0.0.1:54321 (what SUPABASE_URL points at locally). */
  readonly url: string;
  readonly port: number;
  /** `<siteUrl>/auth/v1`, the `iss` of every token. */
  readonly issuer: string;
  readonly jwksUrl: string;
  readonly signingKey: SigningKey;
  close(): Promise<void>;
}

/** Starts the stand-in on `host:port`. Refuses NODE_ENV=production. */
export async function startAuthServer(
  options: StartAuthServerOptions,
): Promise<AuthServer> {
  assertNotProduction();
  if (!options.pool && !options.databaseUrl) {
    throw new Error("startAuthServer needs a pool or a databaseUrl");
  }
  const log = options.log;
  const ownsPool = !options.pool;
  const pool =
    options.pool ??
    createPool(options.databaseUrl ?? "", {
      applicationName: "batchgen-auth",
      max: 5,
      onIdleError: (error) =>
        log?.(`database connection lost: ${error.message}`),
    });

  const host = options.host ?? DEFAULT_AUTH_HOST;
  try {
    const signingKey =
      options.signingKey ??
      (options.keyDir
        ? await loadOrCreateSigningKey(options.keyDir)
        : await generateSigningKey());

    // Listen before building the app: with port 0 the issuer defaults to the
    // URL we actually got, which is only known once the socket is bound.
    let siteUrl = options.siteUrl;
    const server = createServer();
    server.listen(options.port ?? 0, host);
    await Promise.race([
      once(server, "listening"),
      once(server, "error").then(([error]) => {
        throw describeListenError(error, host, options.port ?? 0);
      }),
    ]);
    const { port } = server.address() as AddressInfo;
    const url = `http://${host}:${port}`;
    siteUrl ??= url;

    const app = createAuthApp({
      pool,
      signingKey,
      siteUrl,
      accessTokenTtlSeconds: options.accessTokenTtlSeconds,
      refreshTokenReuseIntervalSeconds:
        options.refreshTokenReuseIntervalSeconds,
      allowedOrigins: options.allowedOrigins,
      log,
    });
    server.on("request", app);

    const issuer = issuerFor(siteUrl);
    let closing: Promise<void> | undefined;
    return {
      url,
      port,
      issuer,
      jwksUrl: `${url}/auth/v1/.well-known/jwks.json`,
      signingKey,
      close: () => {
        closing ??= (async () => {
          await new Promise<void>((resolve, reject) => {
            server.close((error) => (error ? reject(error) : resolve()));
            server.closeAllConnections();
          });
          if (ownsPool) {
            await pool.end();
          }
        })();
        return closing;
      },
    };
  } catch (error) {
    if (ownsPool) {
      await pool.end().catch(() => undefined);
    }
    throw error;
  }
}

function describeListenError(
  error: unknown,
  host: string,
  port: number,
): Error {
  if (
    error instanceof Error &&
    "code" in error &&
    error.code === "EADDRINUSE"
  ) {
    return new Error(
      `the auth stand-in cannot listen on ${host}:${port}: the port is already in use`,
    );
  }
  return error instanceof Error ? error : new Error(String(error));
}
