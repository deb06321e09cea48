import type { AuthChangeEvent, Session } from "@supabase/supabase-js";
import { vi } from "vitest";
import type { AuthClient } from "@/lib/auth";

type Listener = (event: AuthChangeEvent, session: Session | null) => void;

export function makeSession(email = "dr.jones@msm.edu", role: string | null = "faculty"): Session {
  return {
    access_token: "access-token-1",
    refresh_token: "refresh-token-1",
    token_type: "bearer",
    expires_in: 3600,
    expires_at: Math.floor(Date.now() / 1000) + 3600,
    user: {
      id: "11111111-1111-4111-8111-111111111111",
      aud: "authenticated",
      email,
      app_metadata: role === null ? {} : { role, institution_id: "inst-1" },
      user_metadata: {},
      created_at: "2026-11-30T00:00:00Z",
    },
  };
}

/**
 * An in-memory stand-in for supabase-js's auth client: it emits INITIAL_SESSION to each new
 * subscriber the way supabase-js does, and lets a test decide how each call answers.
 */
export function createFakeAuthClient(initial: Session | null = null) {
  let current = initial;
  const listeners = new Set<Listener>();
  const emit = (event: AuthChangeEvent, session: Session | null) => {
    current = session;
    for (const listener of listeners) listener(event, session);
  };

  const client = {
    onAuthStateChange: vi.fn((listener: Listener) => {
      listeners.add(listener);
      queueMicrotask(() => listener("INITIAL_SESSION", current));
      return { data: { subscription: { id: "sub", callback: listener, unsubscribe: () => listeners.delete(listener) } } };
    }),
    signInWithPassword: vi.fn((credentials: { email: string; password: string }) => {
      const session = makeSession(credentials.email);
      emit("SIGNED_IN", session);
      return Promise.resolve({ data: { user: session.user, session }, error: null });
    }),
    signOut: vi.fn((_options?: { scope?: "global" | "local" | "others" }) => {
      emit("SIGNED_OUT", null);
      return Promise.resolve({ error: null as Error | null });
    }),
    getSession: vi.fn(() => Promise.resolve({ data: { session: current }, error: null })),
  };
  return { client: client as unknown as AuthClient & typeof client, emit };
}
