import { randomUUID } from "node:crypto";
import bcrypt from "bcryptjs";
import type { Pool, PoolClient } from "@batchgen/db";

/** Either a pool or a client inside a transaction. */
export type Queryable = Pick<Pool | PoolClient, "query">;

/** GoTrue's default bcrypt cost. */
export const PASSWORD_HASH_COST = 10;

const NIL_INSTANCE_ID = "00000000-0000-0000-0000-000000000000";

/** A row of `auth.users`, with the columns the stand-in reads. */
export interface AuthUserRow {
  id: string;
  aud: string | null;
  role: string | null;
  email: string | null;
  encrypted_password: string | null;
  email_confirmed_at: Date | null;
  last_sign_in_at: Date | null;
  raw_app_meta_data: Record<string, unknown>;
  raw_user_meta_data: Record<string, unknown>;
  is_anonymous: boolean;
  created_at: Date;
  updated_at: Date;
}

const USER_COLUMNS = `id, aud, role, email, encrypted_password, email_confirmed_at, last_sign_in_at,
  raw_app_meta_data, raw_user_meta_data, is_anonymous, created_at, updated_at`;

export async function findUserByEmail(
  db: Queryable,
  email: string,
): Promise<AuthUserRow | undefined> {
  const result = await db.query<AuthUserRow>(
    `SELECT ${USER_COLUMNS} FROM auth.users WHERE lower(email) = lower($1) LIMIT 1`,
    [email],
  );
  return result.rows[0];
}

export async function findUserById(
  db: Queryable,
  id: string,
): Promise<AuthUserRow | undefined> {
  const result = await db.query<AuthUserRow>(
    `SELECT ${USER_COLUMNS} FROM auth.users WHERE id = $1`,
    [id],
  );
  return result.rows[0];
}

export async function recordSignIn(
  db: Queryable,
  userId: string,
  at: Date,
): Promise<AuthUserRow | undefined> {
  const result = await db.query<AuthUserRow>(
    `UPDATE auth.users SET last_sign_in_at = $2, updated_at = $2 WHERE id = $1 RETURNING ${USER_COLUMNS}`,
    [userId, at],
  );
  return result.rows[0];
}

/** The app role and institution as the server wrote them into `raw_app_meta_data`. */
export function readAppClaims(row: AuthUserRow): {
  appRole: string;
  institutionId: string | null;
} {
  const meta = row.raw_app_meta_data;
  const role = typeof meta.role === "string" ? meta.role : "";
  const institutionId =
    typeof meta.institution_id === "string" ? meta.institution_id : null;
  return { appRole: role, institutionId };
}

function iso(date: Date | null): string | undefined {
  return date ? date.toISOString() : undefined;
}

/**
 * The user object GoTrue returns from `/user` and inside token responses.
 * supabase-js only needs `id`, but apps read `email`, `app_metadata` and
 * `identities`, so the whole shape is served. The stand-in has no
 * `auth.identities` table; the single email identity is derived from the user.
 */
export function toUserResponse(row: AuthUserRow): Record<string, unknown> {
  const email = row.email ?? "";
  const confirmedAt = iso(row.email_confirmed_at);
  return {
    id: row.id,
    aud: row.aud ?? "authenticated",
    role: row.role ?? "authenticated",
    email,
    email_confirmed_at: confirmedAt,
    phone: "",
    confirmed_at: confirmedAt,
    last_sign_in_at: iso(row.last_sign_in_at),
    app_metadata: row.raw_app_meta_data,
    user_metadata: row.raw_user_meta_data,
    identities: [
      {
        identity_id: row.id,
        id: row.id,
        user_id: row.id,
        identity_data: {
          email,
          email_verified: row.email_confirmed_at !== null,
          phone_verified: false,
          sub: row.id,
        },
        provider: "email",
        last_sign_in_at: iso(row.last_sign_in_at),
        created_at: row.created_at.toISOString(),
        updated_at: row.updated_at.toISOString(),
        email,
      },
    ],
    created_at: row.created_at.toISOString(),
    updated_at: row.updated_at.toISOString(),
    is_anonymous: row.is_anonymous,
  };
}

export interface CreateUserInput {
  email: string;
  password: string;
  /** The app role written into `app_metadata.role` (faculty, student, ...). */
  role: string;
  /** Defaults to the demo institution; pass `null` for a user without one. */
  institutionId?: string | null;
  userMetadata?: Record<string, unknown>;
  /** A fixed id; a random UUID otherwise. */
  id?: string;
}

export interface CreatedUser {
  id: string;
  email: string;
  role: string;
  institutionId: string | null;
}

export const DEMO_INSTITUTION_ID = "5eed1a57-0000-4000-8000-00000000a5a1";

export function hashPassword(password: string): Promise<string> {
  return bcrypt.hash(password, PASSWORD_HASH_COST);
}

export function appMetadataFor(
  role: string,
  institutionId: string | null,
): Record<string, unknown> {
  return {
    provider: "email",
    providers: ["email"],
    role,
    institution_id: institutionId,
  };
}

/**
 * Inserts a confirmed email/password user into `auth.users`, as an admin
 * `createUser` with `email_confirm: true` would on Supabase. Fails if the
 * email is taken.
 */
export async function createUser(
  db: Queryable,
  input: CreateUserInput,
): Promise<CreatedUser> {
  const email = input.email.trim().toLowerCase();
  if (!email.includes("@")) {
    throw new Error(`createUser: "${input.email}" is not an email address`);
  }
  if (input.password.length === 0) {
    throw new Error("createUser: the password is empty");
  }
  const id = input.id ?? randomUUID();
  const institutionId =
    input.institutionId === undefined
      ? DEMO_INSTITUTION_ID
      : input.institutionId;
  const hash = await hashPassword(input.password);
  await db.query(
    `INSERT INTO auth.users (instance_id, id, aud, role, email, encrypted_password, email_confirmed_at,
       raw_app_meta_data, raw_user_meta_data, is_anonymous)
     VALUES ($1, $2, 'authenticated', 'authenticated', $3, $4, now(), $5, $6, false)`,
    [
      NIL_INSTANCE_ID,
      id,
      email,
      hash,
      JSON.stringify(appMetadataFor(input.role, institutionId)),
      JSON.stringify({ email_verified: true, ...input.userMetadata }),
    ],
  );
  return { id, email, role: input.role, institutionId };
}
