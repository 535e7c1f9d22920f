/** Plain-text tables for the CLI. */
import type { InstanceRecord, JournalMessage } from "../ports.js";

/** Left-aligned columns. */
export function table(header: readonly string[], rows: ReadonlyArray<readonly string[]>): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? "").length)));
  const line = (cells: readonly string[]) => cells.map((c, i) => c.padEnd(widths[i] ?? 0)).join("  ").trimEnd();
  return [line(header), ...rows.map(line)].join("\n");
}

/** A history as a table. */
export function formatMessages(messages: readonly JournalMessage[]): string {
  return table(
    ["#", "state", "event", "steps", "retries", "via", "user_context"],
    messages.map((m, i) => [String(i), m.current_state, m.current_event, String(m.steps), String(m.retries), `${m.role}.${m.side}`, JSON.stringify(m.user_context)]),
  );
}

/** One instance as `status` prints it. */
export function formatInstance(record: InstanceRecord): string {
  return [
    `correlation_id: ${record.correlationId}`,
    `machine:        ${record.machineName}`,
    `status:         ${record.status}${record.reason ? ` (${record.reason})` : ""}`,
    `state:          ${record.state}`,
    `started:        ${new Date(record.startedAt).toISOString()}`,
    `updated:        ${new Date(record.updatedAt).toISOString()}`,
    `user_context:   ${JSON.stringify(record.userContext)}`,
  ].join("\n");
}

/** The JSON form of an instance (snake_case, like the wire format). */
export function instanceJson(record: InstanceRecord) {
  return {
    correlation_id: record.correlationId,
    machine_name: record.machineName,
    status: record.status,
    state: record.state,
    user_context: record.userContext,
    started_at: new Date(record.startedAt).toISOString(),
    updated_at: new Date(record.updatedAt).toISOString(),
    ...(record.reason ? { reason: record.reason } : {}),
  };
}
