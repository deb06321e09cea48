"use client";

import { useMemo } from "react";
import { createApiClient, type ApiClient } from "@/lib/api";
import { useAuth } from "@/lib/auth";

/** An API client that sends the signed-in user's current access token. */
export function useApiClient(): ApiClient {
  const { getAccessToken } = useAuth();
  return useMemo(() => createApiClient({ getAccessToken }), [getAccessToken]);
}
