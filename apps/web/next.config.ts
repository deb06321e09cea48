import type { NextConfig } from "next";

const nextConfig: NextConfig = {
  // @batchgen/types ships TypeScript source (with `.ts` import extensions); Next compiles it.
  transpilePackages: ["@batchgen/types"],
  reactStrictMode: true,
  poweredByHeader: false,
  // The browser tests build with their own URLs baked in; a separate folder keeps
  // that build from replacing the one `pnpm dev --built` may be serving.
  distDir: process.env.NEXT_DIST_DIR ?? ".next",
};

export default nextConfig;
