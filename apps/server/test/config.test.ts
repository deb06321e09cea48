import { spawn } from "node:child_process";
import { once } from "node:events";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { ConfigError, loadConfig } from "../src/config.ts";

describe("loadConfig", () => {
  it("fills defaults around a database URL", () => {
    const config = loadConfig({ DATABASE_URL: "postgres://u:p@127.0.0.1:5432/db" });
    expect(config).toMatchObject({ PORT: 3001, HOST: "127.0.0.1", SUPABASE_URL: "http://127.0.0.1:54321" });
    expect(config.CORS_ORIGINS).toEqual(["http://127.0.0.1:3000", "http://localhost:3000"]);
  });

  it("names a missing variable in one line", () => {
    expect(() => loadConfig({})).toThrow(new ConfigError("Invalid configuration: DATABASE_URL is required"));
  });

  it("names a malformed variable", () => {
    expect(() => loadConfig({ DATABASE_URL: "postgres://x@y/z", PORT: "http" })).toThrow(/PORT:/);
  });
});

describe("loadConfig with a copied .env.example", () => {
  it("treats empty values as unset instead of rejecting them", () => {
    const config = loadConfig({
      DATABASE_URL: "postgres://u:p@127.0.0.1:5432/db",
      SUPABASE_JWT_SECRET: "",
      OPENAI_BASE_URL: "",
      OPENAI_MODEL: "  ",
      PORT: "",
    });
    expect(config.SUPABASE_JWT_SECRET).toBeUndefined();
    expect(config.OPENAI_MODEL).toBeUndefined();
    expect(config.PORT).toBe(3001);
  });
});

describe("loadConfig with NODE_ENV=production", () => {
  const safe = {
    NODE_ENV: "production",
    DATABASE_URL: "postgres://u:p@db.internal:5432/db",
    SUPABASE_URL: "https://abcdefgh.supabase.co",
    INNGEST_SIGNING_KEY: "signkey-prod-0123456789abcdef",
  } as const;

  it("starts with a real auth server, a signing key and Inngest in cloud mode", () => {
    expect(loadConfig(safe).NODE_ENV).toBe("production");
    expect(loadConfig({ ...safe, INNGEST_DEV: "0" }).NODE_ENV).toBe("production");
    expect(loadConfig({ ...safe, INNGEST_DEV: "false" }).NODE_ENV).toBe("production");
  });

  it.each(["1", "true", "http://127.0.0.1:8288"])("refuses INNGEST_DEV=%s in one line", (value) => {
    expect(() => loadConfig({ ...safe, INNGEST_DEV: value })).toThrow(
      new ConfigError(`Refusing to start with NODE_ENV=production: INNGEST_DEV=${value} turns off request signing (set INNGEST_DEV=0 or unset it)`),
    );
  });

  it("refuses a missing signing key (an empty value counts as missing)", () => {
    const { INNGEST_SIGNING_KEY: _unused, ...withoutKey } = safe;
    expect(() => loadConfig(withoutKey)).toThrow(/^Refusing to start with NODE_ENV=production: INNGEST_SIGNING_KEY is required/);
    expect(() => loadConfig({ ...safe, INNGEST_SIGNING_KEY: " " })).toThrow(/INNGEST_SIGNING_KEY is required/);
  });

  it("refuses SUPABASE_URL unset (the default is the local stand-in)", () => {
    const { SUPABASE_URL: _unused, ...withoutUrl } = safe;
    expect(() => loadConfig(withoutUrl)).toThrow(/SUPABASE_URL is required/);
  });

  it.each(["http://127.0.0.1:54321", "http://localhost:54321", "http://127.1:54321", "http://[::1]:54321", "http://auth.localhost", "http://0.0.0.0:54321", "http://[::ffff:127.0.0.1]/"])(
    "refuses SUPABASE_URL=%s (loopback)",
    (url) => {
      expect(() => loadConfig({ ...safe, SUPABASE_URL: url })).toThrow(/SUPABASE_URL=.* is this machine/);
    },
  );

  it("names every problem at once, on one line", () => {
    let message = "";
    try {
      loadConfig({ NODE_ENV: "production", DATABASE_URL: safe.DATABASE_URL, INNGEST_DEV: "1" });
    } catch (error) {
      message = (error as Error).message;
    }
    expect(message).not.toContain("\n");
    expect(message).toMatch(/INNGEST_DEV=1 .*; INNGEST_SIGNING_KEY is required.*; SUPABASE_URL is required/);
  });

  it("development and test keep their local defaults", () => {
    expect(loadConfig({ DATABASE_URL: safe.DATABASE_URL, INNGEST_DEV: "1" }).SUPABASE_URL).toBe("http://127.0.0.1:54321");
    expect(loadConfig({ NODE_ENV: "test", DATABASE_URL: safe.DATABASE_URL }).NODE_ENV).toBe("test");
  });

  it("the API process exits 1 with that one line on stderr before touching anything", async () => {
    const entry = fileURLToPath(new URL("../src/index.ts", import.meta.url));
    const child = spawn(process.execPath, ["--import", "tsx", entry], {
      env: { PATH: process.env.PATH, NODE_ENV: "production", DATABASE_URL: "postgres://u:p@127.0.0.1:1/none", INNGEST_DEV: "1" },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stderr = "";
    child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
    const [code] = (await once(child, "exit")) as [number | null];
    expect(code).toBe(1);
    expect(stderr.trimEnd().split("\n")).toEqual([expect.stringMatching(/^Refusing to start with NODE_ENV=production: INNGEST_DEV=1 /)]);
  });
});
