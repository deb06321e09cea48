import bcrypt from "bcryptjs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  createUser,
  DEMO_INSTITUTION_ID,
  DEMO_USERS,
  seedDemoUsers,
} from "../src/index.ts";
import { openTestDb } from "./support.ts";
import type { TestDb } from "./support.ts";

let db: TestDb;

beforeAll(async () => {
  db = await openTestDb();
});

afterAll(async () => {
  await db?.dispose();
});

interface Row {
  id: string;
  email: string;
  encrypted_password: string;
  raw_app_meta_data: Record<string, unknown>;
  updated_at: Date;
}

async function demoRows(): Promise<Row[]> {
  const result = await db.pool.query<Row>(
    `SELECT id, email, encrypted_password, raw_app_meta_data, updated_at FROM auth.users
      WHERE email = ANY($1) ORDER BY email`,
    [DEMO_USERS.map((user) => user.email)],
  );
  return result.rows;
}

describe("DEMO_USERS", () => {
  it("lists the three demo logins with readable passwords", () => {
    expect(DEMO_USERS.map(({ email, role }) => ({ email, role }))).toEqual([
      { email: "dr.jones@msm.edu", role: "faculty" },
      { email: "dr.smith@msm.edu", role: "faculty" },
      { email: "student@msm.edu", role: "student" },
    ]);
    for (const user of DEMO_USERS) {
      expect(user.password.length).toBeGreaterThanOrEqual(8);
    }
  });
});

describe("seedDemoUsers", () => {
  it("creates the demo users with their roles, one institution and working passwords", async () => {
    const seeded = await seedDemoUsers(db.pool);
    expect(seeded.map((user) => user.created)).toEqual([true, true, true]);
    const rows = await demoRows();
    expect(rows).toHaveLength(3);
    for (const demo of DEMO_USERS) {
      const row = rows.find((candidate) => candidate.email === demo.email);
      expect(row?.raw_app_meta_data).toMatchObject({
        provider: "email",
        providers: ["email"],
        role: demo.role,
        institution_id: DEMO_INSTITUTION_ID,
      });
      expect(row?.encrypted_password.startsWith("$2")).toBe(true);
      expect(
        await bcrypt.compare(demo.password, row?.encrypted_password ?? ""),
      ).toBe(true);
    }
  });

  it("is idempotent: a second run keeps ids and changes nothing", async () => {
    const before = await demoRows();
    const seeded = await seedDemoUsers(db.pool);
    expect(seeded.map((user) => user.created)).toEqual([false, false, false]);
    expect(seeded.map((user) => user.id).sort()).toEqual(
      before.map((row) => row.id).sort(),
    );
    expect(await demoRows()).toEqual(before);
  });

  it("repairs a demo user whose password or role drifted, keeping its id", async () => {
    const [jones] = await demoRows();
    await db.pool.query(
      `UPDATE auth.users SET encrypted_password = $2,
         raw_app_meta_data = raw_app_meta_data || '{"role":"student"}'::jsonb WHERE id = $1`,
      [jones?.id, await bcrypt.hash("changed", 4)],
    );
    await seedDemoUsers(db.pool);
    const repaired = (await demoRows()).find((row) => row.id === jones?.id);
    expect(repaired?.raw_app_meta_data.role).toBe("faculty");
    expect(
      await bcrypt.compare(
        "jones-demo-pass",
        repaired?.encrypted_password ?? "",
      ),
    ).toBe(true);
  });

  it("concurrent seeders do not collide", async () => {
    await db.pool.query("DELETE FROM auth.users WHERE email = ANY($1)", [
      DEMO_USERS.map((user) => user.email),
    ]);
    await Promise.all([seedDemoUsers(db.pool), seedDemoUsers(db.pool)]);
    expect(await demoRows()).toHaveLength(3);
  });
});

describe("createUser", () => {
  it("stores a confirmed, bcrypt-hashed user with app_metadata and returns its id", async () => {
    const created = await createUser(db.pool, {
      email: "New.Person@msm.edu",
      password: "pw-123456",
      role: "faculty",
    });
    expect(created).toMatchObject({
      email: "new.person@msm.edu",
      role: "faculty",
      institutionId: DEMO_INSTITUTION_ID,
    });
    const row = await db.pool.query(
      "SELECT aud, role, email_confirmed_at, raw_app_meta_data FROM auth.users WHERE id = $1",
      [created.id],
    );
    expect(row.rows[0]).toMatchObject({
      aud: "authenticated",
      role: "authenticated",
    });
    expect(row.rows[0]?.email_confirmed_at).toBeInstanceOf(Date);
  });

  it("accepts a fixed id and no institution", async () => {
    const id = "0b7c1e2d-3f4a-4b5c-8d6e-7f8091a2b3c4";
    const created = await createUser(db.pool, {
      id,
      email: "noinst@msm.edu",
      password: "pw-123456",
      role: "student",
      institutionId: null,
    });
    expect(created.id).toBe(id);
    const row = await db.pool.query(
      "SELECT raw_app_meta_data FROM auth.users WHERE id = $1",
      [id],
    );
    expect(row.rows[0]?.raw_app_meta_data.institution_id).toBeNull();
  });

  it("refuses a taken email", async () => {
    await createUser(db.pool, {
      email: "twice@msm.edu",
      password: "pw-123456",
      role: "faculty",
    });
    await expect(
      createUser(db.pool, {
        email: "TWICE@msm.edu",
        password: "pw-123456",
        role: "faculty",
      }),
    ).rejects.toThrow();
  });
});
