import bcrypt from "bcryptjs";
import express from "express";
import type { ErrorRequestHandler, Express, Request, Response } from "express";
import { errors as joseErrors } from "jose";
import { z } from "zod";
import { withTransaction } from "@batchgen/db";
import type { Pool } from "@batchgen/db";
import { corsForOrigins, DEFAULT_ALLOWED_ORIGINS } from "./cors.ts";
import {
  AuthHttpError,
  badRequest,
  forbidden,
  sendAuthError,
} from "./errors.ts";
import type { SigningKey } from "./keys.ts";
import { assertNotProduction } from "./production-guard.ts";
import {
  createSession,
  DEFAULT_REFRESH_TOKEN_REUSE_INTERVAL_SECONDS,
  endSessions,
  findSessionById,
  rotateRefreshToken,
} from "./sessions.ts";
import type { LogoutScope, SessionRow } from "./sessions.ts";
import {
  DEFAULT_ACCESS_TOKEN_TTL_SECONDS,
  epochSeconds,
  issuerFor,
  signAccessToken,
  verifyAccessToken,
} from "./tokens.ts";
import {
  findUserByEmail,
  findUserById,
  hashPassword,
  readAppClaims,
  recordSignIn,
  toUserResponse,
} from "./users.ts";
import type { AuthUserRow } from "./users.ts";

export type AuthLog = (message: string) => void;

export interface AuthAppOptions {
  readonly pool: Pool;
  readonly signingKey: SigningKey;
  /** The SUPABASE_URL clients use; tokens carry `iss: <siteUrl>/auth/v1`. */
  readonly siteUrl: string;
  readonly accessTokenTtlSeconds?: number;
  /** GoTrue's grace period for a revoked refresh token; 10 s by default, 0 for strict tests. */
  readonly refreshTokenReuseIntervalSeconds?: number;
  readonly allowedOrigins?: readonly string[];
  readonly log?: AuthLog;
}

const UUID_PATTERN =
  /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const BEARER_PATTERN = /^[Bb]earer (\S+)$/;
const INVALID_LOGIN_MESSAGE = "Invalid login credentials";

// Compared against when the email is unknown, so a wrong email costs as much
// time as a wrong password and response times do not reveal who has an account.
// Hashed on first use: importing the package (e.g. for DEMO_USERS) stays cheap.
let unknownUserHash: Promise<string> | undefined;
function hashForUnknownUser(): Promise<string> {
  unknownUserHash ??= hashPassword("batchgen-unknown-user");
  return unknownUserHash;
}

const passwordGrantSchema = z.object({
  email: z.string().nullish(),
  phone: z.string().nullish(),
  password: z.string().nullish(),
});

const refreshGrantSchema = z.object({
  refresh_token: z.string().nullish(),
});

function describeIssues(error: z.ZodError): string {
  return error.issues
    .map((issue) => `${issue.path.join(".") || "body"}: ${issue.message}`)
    .join("; ");
}

function parseBody<T>(schema: z.ZodType<T>, body: unknown, what: string): T {
  if (
    body === undefined ||
    body === null ||
    typeof body !== "object" ||
    Array.isArray(body)
  ) {
    throw badRequest(
      "bad_json",
      `Could not read ${what} params: the body must be a JSON object`,
    );
  }
  const parsed = schema.safeParse(body);
  if (!parsed.success) {
    throw badRequest(
      "bad_json",
      `Could not read ${what} params: ${describeIssues(parsed.error)}`,
    );
  }
  return parsed.data;
}

function singleQueryValue(value: unknown): string | undefined {
  if (typeof value === "string") {
    return value;
  }
  if (Array.isArray(value) && typeof value[0] === "string") {
    return value[0];
  }
  return undefined;
}

interface Authenticated {
  readonly user: AuthUserRow;
  readonly session: SessionRow | undefined;
}

function jwtFailureMessage(error: unknown): string {
  if (error instanceof joseErrors.JWTExpired) {
    return "invalid JWT: unable to parse or verify signature, token has invalid claims: token is expired";
  }
  const reason = error instanceof Error ? error.message : String(error);
  return `invalid JWT: unable to parse or verify signature, ${reason}`;
}

/** Creates the Express app (no listen). It refuses to exist when NODE_ENV=production. */
export function createAuthApp(options: AuthAppOptions): Express {
  assertNotProduction();
  const { pool, signingKey } = options;
  const issuer = issuerFor(options.siteUrl);
  const ttlSeconds =
    options.accessTokenTtlSeconds ?? DEFAULT_ACCESS_TOKEN_TTL_SECONDS;
  const reuseIntervalSeconds =
    options.refreshTokenReuseIntervalSeconds ??
    DEFAULT_REFRESH_TOKEN_REUSE_INTERVAL_SECONDS;
  const log: AuthLog = options.log ?? (() => undefined);

  async function sessionResponse(
    user: AuthUserRow,
    sessionId: string,
    sessionCreatedAt: Date,
    refreshToken: string,
  ) {
    const { appRole, institutionId } = readAppClaims(user);
    const signed = await signAccessToken(
      signingKey,
      {
        userId: user.id,
        email: user.email ?? "",
        appRole,
        institutionId,
        userMetadata: user.raw_user_meta_data,
        appMetadata: user.raw_app_meta_data,
        sessionId,
        authenticatedAt: epochSeconds(sessionCreatedAt),
      },
      { issuer, ttlSeconds },
    );
    return {
      access_token: signed.token,
      token_type: "bearer",
      expires_in: signed.expiresIn,
      expires_at: signed.expiresAt,
      refresh_token: refreshToken,
      user: toUserResponse(user),
    };
  }

  async function passwordGrant(req: Request, res: Response): Promise<void> {
    const params = parseBody(passwordGrantSchema, req.body, "password grant");
    const email = params.email?.trim() ?? "";
    const phone = params.phone?.trim() ?? "";
    if (email && phone) {
      throw new AuthHttpError(
        422,
        "validation_failed",
        "Only an email address or phone number should be provided on login.",
      );
    }
    if (!email && phone) {
      throw new AuthHttpError(
        422,
        "phone_provider_disabled",
        "Phone logins are disabled",
      );
    }
    if (!email) {
      throw badRequest("validation_failed", "missing email or phone");
    }
    const password = params.password ?? "";
    const user = await findUserByEmail(pool, email);
    const hash = user?.encrypted_password ?? (await hashForUnknownUser());
    const passwordOk =
      (await bcrypt.compare(password, hash)) &&
      user?.encrypted_password != null;
    if (!user || !passwordOk || password.length === 0) {
      log(`sign-in refused for ${email}`);
      throw badRequest("invalid_credentials", INVALID_LOGIN_MESSAGE);
    }
    if (user.email_confirmed_at === null) {
      throw badRequest("email_not_confirmed", "Email not confirmed");
    }
    const now = new Date();
    const { signedIn, session } = await withTransaction(
      pool,
      async (client) => {
        const updated = (await recordSignIn(client, user.id, now)) ?? user;
        return {
          signedIn: updated,
          session: await createSession(client, user.id, now),
        };
      },
    );
    log(
      `signed in ${signedIn.email ?? signedIn.id} (session ${session.sessionId})`,
    );
    res.json(
      await sessionResponse(
        signedIn,
        session.sessionId,
        session.createdAt,
        session.refreshToken,
      ),
    );
  }

  async function refreshGrant(req: Request, res: Response): Promise<void> {
    const params = parseBody(
      refreshGrantSchema,
      req.body,
      "refresh token grant",
    );
    const presented = params.refresh_token ?? "";
    if (presented.length === 0) {
      throw badRequest("validation_failed", "refresh_token required");
    }
    const outcome = await rotateRefreshToken(pool, presented, {
      reuseIntervalSeconds,
      now: new Date(),
    });
    if (!outcome.ok) {
      if (outcome.error.errorCode === "refresh_token_already_used") {
        log(
          "refresh token reuse detected: the session's token family was revoked",
        );
      }
      throw outcome.error;
    }
    res.json(
      await sessionResponse(
        outcome.user,
        outcome.sessionId,
        outcome.sessionCreatedAt,
        outcome.refreshToken,
      ),
    );
  }

  /** GoTrue's requireAuthentication: bearer, signature and expiry, then the user and session it names. */
  async function authenticate(req: Request): Promise<Authenticated> {
    const match = BEARER_PATTERN.exec(req.get("authorization") ?? "");
    const bearer = match?.[1];
    if (!bearer) {
      throw new AuthHttpError(
        401,
        "no_authorization",
        "This endpoint requires a valid Bearer token",
      );
    }
    let claims: Awaited<ReturnType<typeof verifyAccessToken>>;
    try {
      claims = await verifyAccessToken(signingKey, bearer);
    } catch (error) {
      throw forbidden("bad_jwt", jwtFailureMessage(error));
    }
    const sub = claims.sub;
    if (!sub) {
      throw forbidden("bad_jwt", "invalid claim: missing sub claim");
    }
    if (!UUID_PATTERN.test(sub)) {
      throw badRequest("bad_jwt", "invalid claim: sub claim must be a UUID");
    }
    const user = await findUserById(pool, sub);
    if (!user) {
      throw forbidden(
        "user_not_found",
        "User from sub claim in JWT does not exist",
      );
    }
    const sessionId = claims.session_id;
    if (sessionId === undefined || sessionId === "") {
      return { user, session: undefined };
    }
    if (typeof sessionId !== "string" || !UUID_PATTERN.test(sessionId)) {
      throw forbidden(
        "bad_jwt",
        "invalid claim: session_id claim must be a UUID",
      );
    }
    const session = await findSessionById(pool, sessionId);
    if (!session) {
      throw forbidden(
        "session_not_found",
        "Session from session_id claim in JWT does not exist",
      );
    }
    return { user, session };
  }

  const app = express();
  app.disable("x-powered-by");
  app.set("trust proxy", false);
  app.use(corsForOrigins(options.allowedOrigins ?? DEFAULT_ALLOWED_ORIGINS));

  const router = express.Router();
  // GoTrue reads the body as JSON whatever the Content-Type says, and so do we.
  const jsonBody = express.json({
    type: () => true,
    limit: "64kb",
    strict: false,
  });

  router.post("/token", jsonBody, async (req, res) => {
    // Tokens must never sit in a shared cache (RFC 6749 section 5.1).
    res.set("Cache-Control", "no-store");
    const grantType = singleQueryValue(req.query.grant_type);
    if (grantType === "password") {
      await passwordGrant(req, res);
      return;
    }
    if (grantType === "refresh_token") {
      await refreshGrant(req, res);
      return;
    }
    throw badRequest(
      "validation_failed",
      grantType
        ? `unsupported_grant_type: ${grantType}`
        : "unsupported_grant_type: grant_type is required",
    );
  });

  router.get("/user", async (req, res) => {
    const { user } = await authenticate(req);
    res.json(toUserResponse(user));
  });

  router.post("/logout", async (req, res) => {
    const { user, session } = await authenticate(req);
    const requested = singleQueryValue(req.query.scope) ?? "";
    const scopes: Record<string, LogoutScope> = {
      "": "global",
      global: "global",
      local: "local",
      others: "others",
    };
    const scope = scopes[requested];
    if (!scope) {
      throw badRequest(
        "validation_failed",
        `Unsupported logout scope "${requested}"`,
      );
    }
    await endSessions(pool, scope, user.id, session?.id);
    log(`signed out ${user.email ?? user.id} (scope ${scope})`);
    res.status(204).end();
  });

  router.get("/.well-known/jwks.json", (_req, res) => {
    res.set("Cache-Control", "public, max-age=600");
    res.json({ keys: [signingKey.publicJwk] });
  });

  router.get("/health", async (_req, res) => {
    await pool.query("SELECT 1");
    res.json({
      version: "local-stand-in",
      name: "GoTrue",
      description: "Local Supabase Auth stand-in (batchgen)",
    });
  });

  router.use((req) => {
    throw new AuthHttpError(
      404,
      "not_found",
      `${req.method} ${req.baseUrl}${req.path} is not served by the local auth stand-in`,
    );
  });

  app.use("/auth/v1", router);
  app.use((req) => {
    throw new AuthHttpError(
      404,
      "not_found",
      `${req.method} ${req.path}: the auth stand-in serves /auth/v1 only`,
    );
  });

  const handleErrors: ErrorRequestHandler = (
    error: unknown,
    req,
    res,
    _next,
  ) => {
    if (res.headersSent) {
      return;
    }
    if (error instanceof AuthHttpError) {
      sendAuthError(req, res, error);
      return;
    }
    const status = bodyParserStatus(error);
    if (status !== undefined) {
      const message =
        error instanceof Error ? error.message : "unreadable body";
      if (status === 413) {
        sendAuthError(
          req,
          res,
          new AuthHttpError(413, "request_too_large", "Request body too large"),
        );
      } else if (isJsonParseError(error)) {
        sendAuthError(
          req,
          res,
          badRequest(
            "bad_json",
            `Could not parse request body as JSON: ${message}`,
          ),
        );
      } else {
        sendAuthError(
          req,
          res,
          new AuthHttpError(status, "validation_failed", message),
        );
      }
      return;
    }
    log(
      `unexpected error on ${req.method} ${req.originalUrl}: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`,
    );
    sendAuthError(
      req,
      res,
      new AuthHttpError(
        500,
        "unexpected_failure",
        "Unexpected failure, please check server logs for more information",
      ),
    );
  };
  app.use(handleErrors);
  return app;
}

/** body-parser marks its own failures with a 4xx `status`; those are the client's fault. */
function bodyParserStatus(error: unknown): number | undefined {
  if (
    typeof error !== "object" ||
    error === null ||
    !("status" in error) ||
    !("type" in error)
  ) {
    return undefined;
  }
  const status = error.status;
  return typeof status === "number" && status >= 400 && status < 500
    ? status
    : undefined;
}

function isJsonParseError(error: unknown): boolean {
  return (
    typeof error === "object" &&
    error !== null &&
    "type" in error &&
    error.type === "entity.parse.failed"
  );
}
