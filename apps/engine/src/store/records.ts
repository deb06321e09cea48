/**
 * The shapes the engine stores and hands between its layers: events, run rows, serialized errors.
 * No logic beyond building an error, so every layer can depend on it.
 */

export interface EngineEvent {
  readonly id: string;
  readonly name: string;
  readonly data: Record<string, unknown>;
  readonly ts: number;
  readonly user: Record<string, unknown>;
  readonly v?: string;
  readonly [key: string]: unknown;
}

/** An event as the event API accepted it: the server's internal id (what the API answers) and the event. */
export interface IncomingEvent {
  readonly internalId: string;
  readonly event: EngineEvent;
}

export type RunStatus = "running" | "completed" | "failed" | "cancelled";

export interface RunRow {
  readonly id: string;
  readonly function_id: string;
  readonly event_id: string;
  readonly event: EngineEvent;
  readonly status: RunStatus;
  readonly req_version: number;
  readonly disable_immediate: boolean;
  readonly pending: string[];
  readonly race: boolean;
  readonly rediscover: boolean;
  readonly stack_size: number;
  readonly ckeys: string[];
  readonly climits: number[];
}

/** A serialized error as the SDK reads it back (`jsonErrorSchema`). */
export interface SerializedError {
  readonly name: string;
  readonly message: string;
  readonly stack?: string;
  readonly [key: string]: unknown;
}

export function engineError(message: string): SerializedError {
  return { name: "Error", message, stack: "" };
}
