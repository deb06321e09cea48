import { randomUUID } from "node:crypto";
import { withTransaction } from "@batchgen/db";
import type { Pool } from "@batchgen/db";
import { badRequest } from "./errors.ts";
import type { AuthHttpError } from "./errors.ts";
import { generateRefreshToken } from "./tokens.ts";
import { findUserById } from "./users.ts";
import type { AuthUserRow, Queryable } from "./users.ts";

/** GoTrue's default `GOTRUE_SECURITY_REFRESH_TOKEN_REUSE_INTERVAL`, in seconds. */
export const DEFAULT_REFRESH_TOKEN_REUSE_INTERVAL_SECONDS = 10;

export interface SessionRow {
  id: string;
  user_id: string;
  created_at: Date;
  not_after: Date | null;
}

export interface NewSession {
  sessionId: string;
  refreshToken: string;
  createdAt: Date;
}

/** Starts a session for `userId` with its first refresh token. */
export async function createSession(
  db: Queryable,
  userId: string,
  now: Date,
): Promise<NewSession> {
  const sessionId = randomUUID();
  const refreshToken = generateRefreshToken();
  await db.query(
    `INSERT INTO auth.sessions (id, user_id, created_at, updated_at) VALUES ($1, $2, $3, $3)`,
    [sessionId, userId, now],
  );
  await db.query(
    `INSERT INTO auth.refresh_tokens (token, user_id, revoked, created_at, updated_at, parent, session_id)
     VALUES ($1, $2, false, $3, $3, NULL, $4)`,
    [refreshToken, userId, now, sessionId],
  );
  return { sessionId, refreshToken, createdAt: now };
}

export async function findSessionById(
  db: Queryable,
  sessionId: string,
): Promise<SessionRow | undefined> {
  const result = await db.query<SessionRow>(
    `SELECT id, user_id, created_at, not_after FROM auth.sessions WHERE id = $1`,
    [sessionId],
  );
  return result.rows[0];
}

export type RefreshOutcome =
  | {
      readonly ok: true;
      readonly user: AuthUserRow;
      readonly sessionId: string;
      readonly sessionCreatedAt: Date;
      readonly refreshToken: string;
    }
  | { readonly ok: false; readonly error: AuthHttpError };

interface LockedTokenRow {
  id: string;
  token: string;
  revoked: boolean;
  updated_at: Date;
  session_id: string;
  user_id: string;
  not_after: Date | null;
  session_created_at: Date;
}

export interface RefreshOptions {
  readonly reuseIntervalSeconds: number;
  readonly now: Date;
}

function failure(error: AuthHttpError): RefreshOutcome {
  return { ok: false, error };
}

/**
 * The refresh_token grant with GoTrue's rotation rules:
 * - a live token is revoked and replaced by a child (`parent` = old token);
 * - a revoked token that is the parent of the session's live token gets that
 *   live token back (the client lost the previous response);
 * - any other revoked token is accepted only within the reuse interval of
 *   its revocation; after it, the whole session's token family is revoked
 *   and the call fails with `refresh_token_already_used`.
 * The session row is locked so that concurrent refreshes of one session are
 * serialised, and the family revocation is committed even though the
 * request fails.
 */
export async function rotateRefreshToken(
  pool: Pool,
  presented: string,
  options: RefreshOptions,
): Promise<RefreshOutcome> {
  const { now } = options;
  return withTransaction(pool, async (client) => {
    const found = await client.query<LockedTokenRow>(
      `SELECT rt.id, rt.token, rt.revoked, rt.updated_at, rt.session_id,
              s.user_id, s.not_after, s.created_at AS session_created_at
         FROM auth.refresh_tokens rt
         JOIN auth.sessions s ON s.id = rt.session_id
        WHERE rt.token = $1
        FOR UPDATE OF rt, s`,
      [presented],
    );
    const token = found.rows[0];
    if (!token) {
      return failure(
        badRequest(
          "refresh_token_not_found",
          "Invalid Refresh Token: Refresh Token Not Found",
        ),
      );
    }
    if (token.not_after && now.getTime() > token.not_after.getTime()) {
      return failure(
        badRequest("session_expired", "Invalid Refresh Token: Session Expired"),
      );
    }
    const user = await findUserById(client, token.user_id);
    if (!user) {
      return failure(
        badRequest(
          "refresh_token_not_found",
          "Invalid Refresh Token: Refresh Token Not Found",
        ),
      );
    }

    if (token.revoked) {
      const active = await client.query<{
        token: string;
        parent: string | null;
      }>(
        `SELECT token, parent FROM auth.refresh_tokens
          WHERE session_id = $1 AND revoked = false
          ORDER BY id DESC LIMIT 1`,
        [token.session_id],
      );
      const live = active.rows[0];
      if (live && live.parent === token.token) {
        await touchSession(client, token.session_id, now);
        return {
          ok: true,
          user,
          sessionId: token.session_id,
          sessionCreatedAt: token.session_created_at,
          refreshToken: live.token,
        };
      }
      const reuseUntil =
        token.updated_at.getTime() + options.reuseIntervalSeconds * 1000;
      if (now.getTime() > reuseUntil) {
        await client.query(
          `UPDATE auth.refresh_tokens SET revoked = true, updated_at = $2
            WHERE session_id = $1 AND revoked = false`,
          [token.session_id, now],
        );
        return failure(
          badRequest(
            "refresh_token_already_used",
            "Invalid Refresh Token: Already Used",
          ),
        );
      }
    }

    const refreshToken = generateRefreshToken();
    await client.query(
      `UPDATE auth.refresh_tokens SET revoked = true, updated_at = $2 WHERE id = $1`,
      [token.id, now],
    );
    await client.query(
      `INSERT INTO auth.refresh_tokens (token, user_id, revoked, created_at, updated_at, parent, session_id)
       VALUES ($1, $2, false, $3, $3, $4, $5)`,
      [refreshToken, token.user_id, now, token.token, token.session_id],
    );
    await touchSession(client, token.session_id, now);
    return {
      ok: true,
      user,
      sessionId: token.session_id,
      sessionCreatedAt: token.session_created_at,
      refreshToken,
    };
  });
}

async function touchSession(
  db: Queryable,
  sessionId: string,
  now: Date,
): Promise<void> {
  await db.query(`UPDATE auth.sessions SET updated_at = $2 WHERE id = $1`, [
    sessionId,
    now,
  ]);
}

export type LogoutScope = "global" | "local" | "others";

/**
 * Ends sessions as GoTrue's `/logout` does; deleting a session cascades to
 * its refresh tokens, so they stop working at once, and access tokens naming
 * the session are refused by `/user` from then on.
 */
export async function endSessions(
  db: Queryable,
  scope: LogoutScope,
  userId: string,
  sessionId: string | undefined,
): Promise<void> {
  if (!sessionId || scope === "global") {
    await db.query(`DELETE FROM auth.sessions WHERE user_id = $1`, [userId]);
    await db.query(`DELETE FROM auth.refresh_tokens WHERE user_id = $1`, [
      userId,
    ]);
    return;
  }
  if (scope === "local") {
    await db.query(`DELETE FROM auth.sessions WHERE id = $1`, [sessionId]);
    return;
  }
  await db.query(`DELETE FROM auth.sessions WHERE user_id = $1 AND id <> $2`, [
    userId,
    sessionId,
  ]);
}
