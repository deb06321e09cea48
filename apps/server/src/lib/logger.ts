import { pino, type Logger } from "pino";

/**
 * JSON logs by default (for log collectors); `pretty` for a terminal, which
 * `pnpm dev` asks for. pino-pretty is a dev dependency: production keeps JSON.
 */
export function createLogger(level: string, format: "json" | "pretty" = "json", name = "api"): Logger {
  return pino({
    name,
    level,
    redact: { paths: ["req.headers.authorization", "req.headers.cookie", "*.password", "*.access_token"], censor: "[redacted]" },
    ...(format === "pretty"
      ? { transport: { target: "pino-pretty", options: { colorize: true, ignore: "pid,hostname,name", translateTime: "HH:MM:ss.l", singleLine: true } } }
      : {}),
  });
}
