/**
 * A log for recurring problems: the same message at most once per `windowMs` (a database outage
 * repeats itself every few milliseconds otherwise).
 */
export function createProblemLog(log: (line: string) => void, windowMs = 30_000): (message: string) => void {
  let last = "";
  let lastAt = 0;
  return (message) => {
    const now = Date.now();
    if (message === last && now - lastAt < windowMs) return;
    last = message;
    lastAt = now;
    log(message);
  };
}
