/** Plain-text tables for the CLI. */
import type { InstanceRecord, JournalAttempt, JournalMessage } from "../ports.js";

/** Left-aligned columns. */
export function table(header: readonly string[], rows: ReadonlyArray<readonly string[]>): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? "").length)));
  const line = (cells: readonly string[]) => cells.map((c, i) => c.padEnd(widths[i] ?? 0)).join("  ").trimEnd();
  return [line(header), ...rows.map(line)].join("\n");
}

/**
 * A history as a table: one row per message, with each failed attempt on a line of its own after
 * the message it processed (an attempt at `(steps, retries)` sits between the messages `(steps,
 * retries)` and `(steps, retries + 1)`), followed by the first frame of its stack:
 *
 * ```
 * #  at                        state  event  steps  retries  via             user_context
 * 1  2026-01-01T00:00:00.000Z  start  go     1      0        stream.primary  {"count":1}
 *    2026-01-01T00:00:00.004Z  attempt failed, retrying: middle.do_action ./actions.ts#Go threw: …
 *                                at Go (/app/actions.ts:26:3)
 * ```
 */
export function formatHistory(messages: readonly JournalMessage[], attempts: readonly JournalAttempt[] = []): string {
  const time = (at: number | undefined) => (at === undefined ? "-" : new Date(at).toISOString());
  const [header = "", ...rows] = table(
    ["#", "at", "state", "event", "steps", "retries", "via", "user_context"],
    messages.map((m, i) => [String(i), time(m.at), m.current_state, m.current_event, String(m.steps), String(m.retries), `${m.role}.${m.side}`, JSON.stringify(m.user_context)]),
  ).split("\n");
  const indent = " ".repeat(String(Math.max(0, messages.length - 1)).length + 2);
  const entries = [
    ...messages.map((m, i) => ({ steps: m.steps, retries: m.retries, kind: 0, lines: [rows[i] ?? ""] })),
    ...attempts.map((a) => ({ steps: a.steps, retries: a.retries, kind: 1, lines: attemptLines(a, indent) })),
  ];
  // A stable sort: messages of one step keep the journal's order.
  entries.sort((a, b) => a.steps - b.steps || a.retries - b.retries || a.kind - b.kind);
  return [header, ...entries.flatMap((entry) => entry.lines)].join("\n");
}

/** One failed attempt, as `history` prints it under its message. */
function attemptLines(attempt: JournalAttempt, indent: string): string[] {
  const time = new Date(attempt.at).toISOString();
  const what = attempt.where === undefined ? attempt.error : `${attempt.where} threw: ${attempt.error}`;
  const lines = [`${indent}${time}  attempt failed, ${attempt.outcome === "fatal" ? "instance failed" : "retrying"}: ${what}`];
  const frame = attempt.stack?.split("\n")[0];
  if (frame !== undefined) lines.push(`${indent}${" ".repeat(time.length + 2)}  ${frame}`);
  return lines;
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
