import { AuthApiError, AuthRetryableFetchError } from "@supabase/supabase-js";
import { describe, expect, it } from "vitest";
import { describeSignInError, safeRedirectPath } from "@/lib/auth-errors";

describe("describeSignInError", () => {
  it("names a wrong email or password", () => {
    expect(describeSignInError(new AuthApiError("Invalid login credentials", 400, "invalid_credentials"))).toBe(
      "Wrong email or password. Check both and try again.",
    );
  });

  it("names an unreachable server, with its address", () => {
    expect(describeSignInError(new AuthRetryableFetchError("Failed to fetch", 0))).toMatch(
      /^Cannot reach the sign-in server at http:\/\/127\.0\.0\.1:54321\./,
    );
  });

  it("names a server error and a rate limit", () => {
    expect(describeSignInError(new AuthRetryableFetchError("Bad gateway", 502))).toMatch(/having trouble/);
    expect(describeSignInError(new AuthApiError("Too many", 429, "over_request_rate_limit"))).toMatch(/Too many sign-in attempts/);
  });

  it("passes any other message through", () => {
    expect(describeSignInError(new AuthApiError("Something odd", 422, "odd"))).toBe("Sign-in failed: Something odd");
    expect(describeSignInError(undefined)).toMatch(/unknown reason/);
  });
});

describe("safeRedirectPath", () => {
  it("keeps a path on this site", () => {
    expect(safeRedirectPath("/generation/batch/abc?tab=items")).toBe("/generation/batch/abc?tab=items");
  });

  it("refuses other sites, protocol-relative URLs and the login page itself", () => {
    for (const next of ["https://evil.example", "//evil.example", "/\\evil.example", "javascript:alert(1)", "/login", "/login?next=/x", "", null, undefined]) {
      expect(safeRedirectPath(next)).toBe("/generation/batch");
    }
  });
});
