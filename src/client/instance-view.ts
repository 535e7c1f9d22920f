/**
 * One JSON form of an instance record for the two surfaces that print it: the CLI (`--json`,
 * snake_case like the wire format) and the Lambda HTTP routes (camelCase, like the library).
 * Pause and abort keys appear only when they apply; times are ISO strings.
 */
import type { InstanceRecord } from "../ports.js";

/** Key names of each surface (the rest are the same words in both). */
const NAMES = {
  snake: { correlationId: "correlation_id", machine: "machine_name", context: "user_context", startedAt: "started_at", updatedAt: "updated_at", pausedStatus: "paused_status", requestedAt: "requested_at" },
  camel: { correlationId: "correlationId", machine: "machine", context: "context", startedAt: "startedAt", updatedAt: "updatedAt", pausedStatus: "pausedStatus", requestedAt: "requestedAt" },
} as const;

/** The record as JSON, with the key names of `naming`. */
export function instanceView(record: InstanceRecord, naming: keyof typeof NAMES): Record<string, unknown> {
  const name = NAMES[naming];
  const abort = record.abort;
  return {
    [name.correlationId]: record.correlationId,
    [name.machine]: record.machineName,
    status: record.status,
    state: record.state,
    ...(record.steps === undefined ? {} : { steps: record.steps }),
    ...(record.version === undefined ? {} : { version: record.version }),
    [name.context]: record.userContext,
    [name.startedAt]: new Date(record.startedAt).toISOString(),
    [name.updatedAt]: new Date(record.updatedAt).toISOString(),
    ...(record.reason === undefined ? {} : { reason: record.reason }),
    ...(record.pausedStatus === undefined ? {} : { [name.pausedStatus]: record.pausedStatus }),
    ...(record.paused === undefined ? {} : { paused: record.paused }),
    ...(record.parked === undefined ? {} : { parked: record.parked }),
    ...(abort === undefined
      ? {}
      : { abort: { reason: abort.reason, [name.requestedAt]: new Date(abort.at).toISOString(), ...(abort.step === undefined ? {} : { step: abort.step }) } }),
  };
}
