import bcrypt from "bcryptjs";
import type { Pool } from "@batchgen/db";
import { withTransaction } from "@batchgen/db";
import {
  appMetadataFor,
  createUser,
  DEMO_INSTITUTION_ID,
  findUserByEmail,
  hashPassword,
} from "./users.ts";

export { DEMO_INSTITUTION_ID };

export type DemoRole = "faculty" | "student";

export interface DemoUser {
  readonly email: string;
  /** Local development only; printed by `pnpm dev` and written in the README. */
  readonly password: string;
  readonly role: DemoRole;
  readonly fullName: string;
}

export const DEMO_USERS: readonly DemoUser[] = [
  {
    email: "dr.jones@msm.edu",
    password: "jones-demo-pass",
    role: "faculty",
    fullName: "Dr. Jones",
  },
  {
    email: "dr.smith@msm.edu",
    password: "smith-demo-pass",
    role: "faculty",
    fullName: "Dr. Smith",
  },
  {
    email: "student@msm.edu",
    password: "student-demo-pass",
    role: "student",
    fullName: "Demo Student",
  },
];

export interface SeededUser {
  readonly id: string;
  readonly email: string;
  readonly role: DemoRole;
  readonly institutionId: string;
  readonly created: boolean;
}

/**
 * Makes sure the demo users exist with their documented passwords, roles and
 * institution. Existing rows keep their ids (batches reference them), and a
 * second run changes nothing: the hash is only rewritten when the documented
 * password no longer matches it.
 */
export async function seedDemoUsers(pool: Pool): Promise<SeededUser[]> {
  const seeded: SeededUser[] = [];
  for (const demo of DEMO_USERS) {
    const result = await withTransaction(pool, async (client) => {
      // Serialises concurrent seeders (two `pnpm dev`s) on the same email.
      await client.query(`SELECT pg_advisory_xact_lock(hashtext($1))`, [
        `batchgen-seed:${demo.email}`,
      ]);
      const existing = await findUserByEmail(client, demo.email);
      if (!existing) {
        const created = await createUser(client, {
          email: demo.email,
          password: demo.password,
          role: demo.role,
          institutionId: DEMO_INSTITUTION_ID,
          userMetadata: { full_name: demo.fullName },
        });
        return { id: created.id, created: true };
      }
      const passwordMatches =
        existing.encrypted_password !== null &&
        (await bcrypt.compare(demo.password, existing.encrypted_password));
      const wanted = appMetadataFor(demo.role, DEMO_INSTITUTION_ID);
      const metadataMatches = Object.entries(wanted).every(
        ([key, value]) =>
          JSON.stringify(existing.raw_app_meta_data[key]) ===
          JSON.stringify(value),
      );
      if (
        !passwordMatches ||
        !metadataMatches ||
        existing.email_confirmed_at === null
      ) {
        await client.query(
          `UPDATE auth.users
              SET encrypted_password = $2,
                  raw_app_meta_data = raw_app_meta_data || $3::jsonb,
                  email_confirmed_at = coalesce(email_confirmed_at, now()),
                  updated_at = now()
            WHERE id = $1`,
          [
            existing.id,
            passwordMatches
              ? existing.encrypted_password
              : await hashPassword(demo.password),
            JSON.stringify(wanted),
          ],
        );
      }
      return { id: existing.id, created: false };
    });
    seeded.push({
      ...result,
      email: demo.email,
      role: demo.role,
      institutionId: DEMO_INSTITUTION_ID,
    });
  }
  return seeded;
}
