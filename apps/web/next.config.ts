import type { NextConfig } from "next";

const nextConfig: NextConfig = {
  // @batchgen/types ships TypeScript source (with `.ts` import extensions); Next compiles it.
  transpilePackages: ["@batchgen/types"],
  reactStrictMode: true,
  poweredByHeader: false,
};

export default nextConfig;
