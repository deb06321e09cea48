import { createClient, type SupabaseClient } from "@supabase/supabase-js";
import { readPublicConfig } from "@/lib/config";

let browserClient: SupabaseClient | undefined;

/**
 * The one Supabase client of the page. Browser only: the session lives in localStorage, and on
 * Node 20 `createClient()` would throw without `realtime: { transport: ws }` — so server code must
 * never reach this (call it from effects and event handlers, not during render).
 */
export function getSupabaseBrowserClient(): SupabaseClient {
  if (typeof window === "undefined") {
    throw new Error("getSupabaseBrowserClient() was called on the server; call it from an effect or an event handler.");
  }
  if (!browserClient) {
    const { supabaseUrl, supabaseAnonKey } = readPublicConfig();
    browserClient = createClient(supabaseUrl, supabaseAnonKey, {
      auth: {
        persistSession: true,
        autoRefreshToken: true,
        // Password sign-in only: no OAuth or magic-link redirects to pick up from the URL.
        detectSessionInUrl: false,
      },
    });
  }
  return browserClient;
}
