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
