import { readPublicConfig } from "@/lib/config";

/** What supabase-js puts on the errors it returns; duck-typed so tests can pass plain objects too. */
interface AuthErrorLike {
  readonly name?: string;
  readonly message?: string;
  readonly status?: number;
  readonly code?: string;
}

function asAuthErrorLike(error: unknown): AuthErrorLike {
  return typeof error === "object" && error !== null ? error : {};
}

/** Turns a sign-in failure from supabase-js into a sentence a person can act on. */
export function describeSignInError(error: unknown): string {
  const { name, status, code, message } = asAuthErrorLike(error);
  // supabase-js reports a failed fetch (server down, CORS, offline) as AuthRetryableFetchError with
  // status 0, and a 5xx from the auth server as the same class with that status.
  if (name === "AuthRetryableFetchError" || status === 0 || (error instanceof TypeError && !status)) {
    if (status !== undefined && status >= 500) {
      return "The sign-in service is having trouble right now. Try again in a moment.";
    }
    return `Cannot reach the sign-in server at ${readPublicConfig().supabaseUrl}. Check that it is running, then try again.`;
  }
  if (code === "invalid_credentials" || (status === 400 && /invalid login credentials/i.test(message ?? ""))) {
    return "Wrong email or password. Check both and try again.";
  }
  if (code === "email_not_confirmed") {
    return "This email address has not been confirmed yet.";
  }
  if (code === "user_banned") {
    return "This account has been disabled. Ask an administrator for help.";
  }
  if (status === 429 || code === "over_request_rate_limit") {
    return "Too many sign-in attempts. Wait a minute, then try again.";
  }
  if (status !== undefined && status >= 500) {
    return "The sign-in service is having trouble right now. Try again in a moment.";
  }
  return message ? `Sign-in failed: ${message}` : "Sign-in failed for an unknown reason. Try again.";
}

/**
 * Where to go after signing in: only a path on this site (never `//evil.example` or a full URL,
 * which would make the login page an open redirect), and never back to /login itself.
 */
export function safeRedirectPath(next: string | null | undefined, fallback = "/generation/batch"): string {
  if (!next || !next.startsWith("/") || next.startsWith("//") || next.startsWith("/\\")) return fallback;
  if (next === "/login" || next.startsWith("/login?") || next.startsWith("/login/")) return fallback;
  return next;
}
