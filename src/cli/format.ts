/** Plain-text tables for the CLI. */
import type { InstanceRecord, JournalAttempt, JournalMessage } from "../ports.js";
import { instanceView } from "../client/instance-view.js";

/** Left-aligned columns. */
export function table(header: readonly string[], rows: ReadonlyArray<readonly string[]>): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? "").length)));
  const line = (cells: readonly string[]) => cells.map((c, i) => c.padEnd(widths[i] ?? 0)).join("  ").trimEnd();
  return [line(header), ...rows.map(line)].join("\n");
}

/**
 * A history as a table: one row per message, with each failed attempt on a line of its own after
 * the message it processed (an attempt at `(steps, retries)` sits between the messages `(steps,
 * retries)` and `(steps, retries + 1)`), followed by the first frame of its stack. The `origin`
 * column says what sent a message ({@link originCell}):
 *
 * ```
 * #  at                        state        event        steps  retries  origin  via             user_context
 * 0  2026-01-01T00:00:00.000Z  pseudo_init  pseudo_init  0      0        start   stream.primary  {}
 * 1  2026-01-01T00:00:00.002Z  start        go           1      0        -       stream.primary  {"count":1}
 *    2026-01-01T00:00:00.004Z  attempt failed, retrying: middle.do_action ./actions.ts#Go threw: …
 *                                at Go (/app/actions.ts:26:3)
 * ```
 */
export function formatHistory(messages: readonly JournalMessage[], attempts: readonly JournalAttempt[] = []): string {
  const time = (at: number | undefined) => (at === undefined ? "-" : new Date(at).toISOString());
  const [header = "", ...rows] = table(
    ["#", "at", "state", "event", "steps", "retries", "origin", "via", "user_context"],
    messages.map((m, i) => [
      String(i),
      time(m.at),
      m.current_state,
      m.current_event,
      String(m.steps),
      String(m.retries),
      originCell(m),
      `${m.role}.${m.side}`,
      JSON.stringify(m.user_context),
    ]),
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

/**
 * What sent a message, as the `origin` column of `history` shows it: the recorded origin (`event`,
 * `timer`, `abort`, `resume`, `recover`, `redrive`, `dead-letter`), `start` for an instance's first
 * message, and `-` for a message a worker sent as a processing's next step or retry. A message sent
 * with a delay adds when it is due: `timer, due 2026-01-03T00:00:00.000Z`.
 */
export function originCell(message: JournalMessage): string {
  // The start message carries no recorded origin: step 0, retry 0 is the only message no worker sends.
  const origin = message.origin ?? (message.steps === 0 && message.retries === 0 ? "start" : "-");
  return message.due === undefined ? origin : `${origin}, due ${new Date(message.due).toISOString()}`;
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

/** One instance as `status` prints it; `paused:` and `abort:` lines only when they apply. */
export function formatInstance(record: InstanceRecord): string {
  const pause = pauseText(record);
  return [
    `correlation_id: ${record.correlationId}`,
    `machine:        ${record.machineName}`,
    `status:         ${record.status}${record.pausedStatus === undefined ? "" : ` (resumes ${record.pausedStatus})`}${record.reason ? ` (${record.reason})` : ""}`,
    ...(pause === undefined ? [] : [`paused:         ${pause}`]),
    ...(record.abort === undefined ? [] : [`abort:          ${abortText(record)}`]),
    `state:          ${record.state}`,
    ...(record.steps === undefined ? [] : [`steps:          ${record.steps}`]),
    `started:        ${new Date(record.startedAt).toISOString()}`,
    `updated:        ${new Date(record.updatedAt).toISOString()}`,
    `user_context:   ${JSON.stringify(record.userContext)}`,
  ].join("\n");
}

/** The status column of `list`: the status, with what a pause or an abort adds to it. */
export function statusCell(record: InstanceRecord): string {
  if (record.status === "paused") return `paused (${record.pausedStatus ?? "running"}, ${record.parked ?? 0} parked)`;
  if (record.abort !== undefined && record.status !== "aborted") return `${record.status} (abort requested)`;
  return record.status;
}

/** Who holds a paused instance, and how many of its messages wait: `by an operator; 1 message parked`. */
function pauseText(record: InstanceRecord): string | undefined {
  if (record.paused !== true && record.parked === undefined) return undefined;
  const who = record.paused === true ? `by an operator (switchyard resume ${record.correlationId})` : "by a pause of its machine (switchyard pauses)";
  const parked = record.parked ?? 0;
  return `${who}; ${parked} message${parked === 1 ? "" : "s"} parked`;
}

/**
 * An abort as `status` prints it: when it was asked and why, then whether a step has taken it (the
 * step that led into the machine's `on_abort` state, where its compensation runs).
 */
function abortText(record: InstanceRecord): string {
  const abort = record.abort as NonNullable<InstanceRecord["abort"]>;
  const requested = `requested ${new Date(abort.at).toISOString()} (${abort.reason})`;
  if (abort.step !== undefined) return `${requested}; step ${abort.step} took it into the on_abort state${record.status === "aborted" ? "" : ", compensating"}`;
  return record.status === "aborted" ? requested : `${requested}; not taken yet: the instance's next step takes it`;
}

/** The JSON form of an instance (snake_case, like the wire format); pause and abort keys only when they apply. */
export function instanceJson(record: InstanceRecord) {
  return instanceView(record, "snake");
}
