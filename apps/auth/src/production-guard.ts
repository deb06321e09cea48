/** Thrown when the stand-in is asked to run with NODE_ENV=production. */
export class ProductionRefusedError extends Error {
  constructor() {
    super(
      "@batchgen/auth is a local development stand-in for Supabase Auth and refuses to run with " +
        "NODE_ENV=production. Point SUPABASE_URL at your Supabase project instead.",
    );
    this.name = "ProductionRefusedError";
  }
}

/**
 * The stand-in has demo users with published passwords and keeps its signing
 * key on local disk: it must never be what a production deployment trusts.
 */
export function assertNotProduction(
  env: NodeJS.ProcessEnv = process.env,
): void {
  if (env.NODE_ENV === "production") {
    throw new ProductionRefusedError();
  }
}
