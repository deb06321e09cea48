export { createAuthApp } from "./app.ts";
export type { AuthAppOptions, AuthLog } from "./app.ts";
export { ALLOWED_REQUEST_HEADERS, DEFAULT_ALLOWED_ORIGINS } from "./cors.ts";
export { AuthHttpError } from "./errors.ts";
export type { AuthErrorCode } from "./errors.ts";
export {
  generateSigningKey,
  loadOrCreateSigningKey,
  SIGNING_ALGORITHM,
  SIGNING_KEY_FILE,
} from "./keys.ts";
export type { SigningKey } from "./keys.ts";
export {
  assertNotProduction,
  ProductionRefusedError,
} from "./production-guard.ts";
export { DEMO_INSTITUTION_ID, DEMO_USERS, seedDemoUsers } from "./seed.ts";
export type { DemoRole, DemoUser, SeededUser } from "./seed.ts";
export {
  DEFAULT_AUTH_HOST,
  DEFAULT_AUTH_PORT,
  startAuthServer,
} from "./server.ts";
export type { AuthServer, StartAuthServerOptions } from "./server.ts";
export { DEFAULT_REFRESH_TOKEN_REUSE_INTERVAL_SECONDS } from "./sessions.ts";
export type { LogoutScope } from "./sessions.ts";
export {
  AUTHENTICATED_AUDIENCE,
  AUTHENTICATED_ROLE,
  buildAccessTokenClaims,
  DEFAULT_ACCESS_TOKEN_TTL_SECONDS,
  issuerFor,
  signAccessToken,
  signJwt,
  verifyAccessToken,
} from "./tokens.ts";
export type {
  AccessTokenSubject,
  AccessTokenTiming,
  AmrEntry,
  SignedAccessToken,
  SupabaseAccessTokenClaims,
  SupabaseAppMetadata,
} from "./tokens.ts";
export { createUser } from "./users.ts";
export type { CreatedUser, CreateUserInput } from "./users.ts";
