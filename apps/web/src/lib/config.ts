// The browser's view of the environment. Next inlines `process.env.NEXT_PUBLIC_*` at build time,
// so each variable must be read by its full literal name (no destructuring, no dynamic keys).

const DEFAULT_SUPABASE_URL = "http://127.0.0.1:54321";
// The local auth stand-in does not check the anon key; a real Supabase project does.
const DEFAULT_SUPABASE_ANON_KEY = "local-anon-key";
const DEFAULT_API_URL = "http://127.0.0.1:3001";

function withoutTrailingSlash(url: string): string {
  return url.replace(/\/+$/, "");
}

function nonEmpty(value: string | undefined): string | undefined {
  return value !== undefined && value.trim() !== "" ? value.trim() : undefined;
}

export interface PublicConfig {
  readonly supabaseUrl: string;
  readonly supabaseAnonKey: string;
  /** Origin of the Express API, without `/api/v1`. */
  readonly apiUrl: string;
}

export function readPublicConfig(): PublicConfig {
  return {
    supabaseUrl: withoutTrailingSlash(nonEmpty(process.env.NEXT_PUBLIC_SUPABASE_URL) ?? DEFAULT_SUPABASE_URL),
    supabaseAnonKey: nonEmpty(process.env.NEXT_PUBLIC_SUPABASE_ANON_KEY) ?? DEFAULT_SUPABASE_ANON_KEY,
    apiUrl: withoutTrailingSlash(nonEmpty(process.env.NEXT_PUBLIC_API_URL) ?? DEFAULT_API_URL),
  };
}
