"use client";

import { APP_ROLES, type AppRole } from "@batchgen/types";
import type { Session, SupabaseClient } from "@supabase/supabase-js";
import { createContext, useCallback, useContext, useEffect, useMemo, useRef, useState, type ReactNode } from "react";
import { describeSignInError } from "@/lib/auth-errors";
import { getSupabaseBrowserClient } from "@/lib/supabase-browser";

/** The part of supabase-js's auth client this app uses; tests pass a fake with the same shape. */
export type AuthClient = Pick<SupabaseClient["auth"], "signInWithPassword" | "signOut" | "getSession" | "onAuthStateChange">;

export interface SignedInUser {
  readonly id: string;
  readonly email: string;
  /** From `app_metadata.role` (written by the server, never by the user); null when missing or unknown. */
  readonly role: AppRole | null;
}

export type AuthState =
  | { readonly status: "loading" }
  | {
      readonly status: "signed-out";
      /** "user": the person pressed Sign out; "no-session": never signed in, or the session ended by itself. */
      readonly reason: "user" | "no-session";
    }
  | { readonly status: "signed-in"; readonly user: SignedInUser; readonly session: Session };

export interface AuthContextValue {
  readonly state: AuthState;
  /** Resolves to a readable error message, or null once signed in. Never rejects. */
  readonly signIn: (email: string, password: string) => Promise<{ readonly error: string | null }>;
  readonly signOut: () => Promise<void>;
  /** A current access token (supabase-js refreshes it when needed), or null when signed out. */
  readonly getAccessToken: () => Promise<string | null>;
}

const AuthContext = createContext<AuthContextValue | null>(null);

function roleFrom(appMetadata: Record<string, unknown> | undefined): AppRole | null {
  const role = appMetadata?.role;
  return typeof role === "string" && (APP_ROLES as readonly string[]).includes(role) ? (role as AppRole) : null;
}

export function userFromSession(session: Session): SignedInUser {
  return {
    id: session.user.id,
    email: session.user.email ?? "",
    role: roleFrom(session.user.app_metadata),
  };
}

export interface AuthProviderProps {
  readonly children: ReactNode;
  /** Defaults to the browser's Supabase client; created lazily, never during a server render. */
  readonly client?: AuthClient;
}

export function AuthProvider({ children, client }: AuthProviderProps) {
  const [state, setState] = useState<AuthState>({ status: "loading" });
  const signedOutByUser = useRef(false);

  const getClient = useCallback((): AuthClient => client ?? getSupabaseBrowserClient().auth, [client]);

  useEffect(() => {
    // supabase-js emits INITIAL_SESSION to every new subscriber (restored from localStorage), then
    // SIGNED_IN / TOKEN_REFRESHED / SIGNED_OUT. Only set state here: calling other supabase-js
    // methods inside this callback can deadlock its internal lock.
    const { data } = getClient().onAuthStateChange((_event, session) => {
      if (session) {
        signedOutByUser.current = false;
        setState({ status: "signed-in", session, user: userFromSession(session) });
      } else {
        setState({ status: "signed-out", reason: signedOutByUser.current ? "user" : "no-session" });
      }
    });
    return () => data.subscription.unsubscribe();
  }, [getClient]);

  const signIn = useCallback(
    async (email: string, password: string) => {
      try {
        const { data, error } = await getClient().signInWithPassword({ email, password });
        if (error) return { error: describeSignInError(error) };
        if (!data.session) return { error: "Sign-in did not return a session. Try again." };
        // The SIGNED_IN event usually arrives first; setting it here too keeps the UI in step if not.
        signedOutByUser.current = false;
        setState({ status: "signed-in", session: data.session, user: userFromSession(data.session) });
        return { error: null };
      } catch (error) {
        return { error: describeSignInError(error) };
      }
    },
    [getClient],
  );

  const signOut = useCallback(async () => {
    signedOutByUser.current = true;
    const auth = getClient();
    const { error } = await auth.signOut();
    // A global sign-out needs the auth server; if it cannot be reached, still forget the session here.
    if (error) await auth.signOut({ scope: "local" });
    setState({ status: "signed-out", reason: "user" });
  }, [getClient]);

  const getAccessToken = useCallback(async () => {
    const { data } = await getClient().getSession();
    return data.session?.access_token ?? null;
  }, [getClient]);

  const value = useMemo<AuthContextValue>(
    () => ({ state, signIn, signOut, getAccessToken }),
    [state, signIn, signOut, getAccessToken],
  );
  return <AuthContext.Provider value={value}>{children}</AuthContext.Provider>;
}

export function useAuth(): AuthContextValue {
  const value = useContext(AuthContext);
  if (!value) throw new Error("useAuth() must be used inside <AuthProvider>.");
  return value;
}
