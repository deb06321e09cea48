import { pino, type Logger } from "pino";

export function createLogger(level: string, name = "api"): Logger {
  return pino({
    name,
    level,
    redact: { paths: ["req.headers.authorization", "req.headers.cookie", "*.password", "*.access_token"], censor: "[redacted]" },
  });
}
