/**
 * Event sessions, as Inngest's event API resolves them (pkg/event/sessions.go, ResolveSessions):
 * the `meta.propagated_sessions` layer the SDK stamps on events sent from inside a run is folded
 * into `meta.sessions` at ingest, and dropped. Keys set by hand win; `null` for a key cuts that
 * inherited key, `sessions: null` cuts them all; the rest of the inherited keys fill the free
 * slots (at most 5 sessions per event) in byte order of their keys.
 */
const MAX_EVENT_SESSIONS = 5;
const MAX_SESSION_KEY_BYTES = 128;
const MAX_SESSION_ID_BYTES = 512;

export class SessionError extends Error {}

function compareUtf8(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a, "utf8"), Buffer.from(b, "utf8"));
}

function sessionId(key: string, value: unknown, allowNull: boolean): string | null {
  if (value === null && allowNull) return null;
  if (typeof value === "string") return value;
  if (typeof value === "number" && Number.isFinite(value)) return String(value);
  throw new SessionError(`event session "${key}" must be a string${allowNull ? ", number, or null" : " or number"}`);
}

/** Returns the event's `meta` with its sessions resolved, or undefined when it has none left. */
export function resolveSessions(meta: unknown): Record<string, unknown> | undefined {
  if (meta === undefined || meta === null) return undefined;
  if (typeof meta !== "object" || Array.isArray(meta)) throw new SessionError("event meta must be an object");
  const { sessions: manualRaw, propagated_sessions: propagatedRaw, ...rest } = meta as Record<string, unknown>;

  const manual = new Map<string, string>();
  const cut = new Set<string>();
  let clearAll = false;
  if (manualRaw === null) clearAll = true;
  else if (manualRaw !== undefined) {
    if (typeof manualRaw !== "object" || Array.isArray(manualRaw)) throw new SessionError("event sessions must be an object");
    for (const [key, value] of Object.entries(manualRaw)) {
      const id = sessionId(key, value, true);
      if (id === null) cut.add(key);
      else manual.set(key, id);
    }
  }
  const propagated = new Map<string, string>();
  if (propagatedRaw !== undefined && propagatedRaw !== null) {
    if (typeof propagatedRaw !== "object" || Array.isArray(propagatedRaw)) throw new SessionError("event sessions must be an object");
    for (const [key, value] of Object.entries(propagatedRaw)) propagated.set(key, sessionId(key, value, false) ?? "");
  }

  const merged = new Map(manual);
  if (!clearAll) {
    const inherited = [...propagated.keys()].filter((key) => !cut.has(key) && !manual.has(key)).sort(compareUtf8);
    for (const key of inherited) {
      if (merged.size >= MAX_EVENT_SESSIONS) break;
      merged.set(key, propagated.get(key) ?? "");
    }
  }

  if (merged.size > MAX_EVENT_SESSIONS) throw new SessionError(`event sessions can include at most ${MAX_EVENT_SESSIONS} entries`);
  for (const [key, id] of merged) {
    if (!key) throw new SessionError("event session keys cannot be empty");
    if (Buffer.byteLength(key) > MAX_SESSION_KEY_BYTES) throw new SessionError(`event session key "${key}" exceeds ${MAX_SESSION_KEY_BYTES} bytes`);
    if (!id) throw new SessionError(`event session "${key}" cannot have an empty ID`);
    if (Buffer.byteLength(id) > MAX_SESSION_ID_BYTES) throw new SessionError(`event session "${key}" exceeds ${MAX_SESSION_ID_BYTES} bytes`);
  }
  const out: Record<string, unknown> = { ...rest };
  if (merged.size > 0) out.sessions = Object.fromEntries(merged);
  return Object.keys(out).length > 0 ? out : undefined;
}
