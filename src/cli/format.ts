/** Plain-text tables for the CLI. */
import type { InstanceRecord, JournalAttempt, JournalMessage } from "../ports.js";
import { instanceView } from "../client/instance-view.js";

/** How {@link table} lays its columns out; the CLI builds it with `tableLayout` (terminal.ts). */
export interface TableLayout {
  /**
   * Fit each row into this many columns by cutting the free-text columns ({@link FREE_TEXT_COLUMNS})
   * with `…`, widest first; ids, states and statuses are never cut. Undefined: full width.
   */
  readonly width?: number | undefined;
  /** Dress a cell (e.g. colour a status) after its width is measured; `column` is its header. */
  readonly paint?: ((column: string, cell: string) => string) | undefined;
}

/** The columns {@link table} may cut to fit a width: text of any length, read at a glance. */
export const FREE_TEXT_COLUMNS: readonly string[] = ["user_context", "reason", "why"];

/** A cut column keeps at least this many characters (or its header's, if longer). */
const MIN_CUT_WIDTH = 12;

/** Left-aligned columns, two spaces apart. */
export function table(header: readonly string[], rows: ReadonlyArray<readonly string[]>, layout: TableLayout = {}): string {
  const widths = fitWidths(
    header,
    header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? "").length))),
    layout.width,
  );
  const paint = layout.paint;
  const line = (cells: readonly string[], painted: boolean) =>
    cells
      .map((c, i) => {
        const width = widths[i] ?? 0;
        const text = c.length > width ? `${c.slice(0, width - 1)}…` : c;
        const column = header[i] ?? "";
        return `${painted && paint !== undefined ? paint(column, text) : text}${" ".repeat(width - text.length)}`;
      })
      .join("  ")
      .trimEnd();
  return [line(header, false), ...rows.map((row) => line(row, true))].join("\n");
}

/**
 * The column widths that fit `total` columns: the free-text columns give up characters, always
 * the widest of them first, down to {@link MIN_CUT_WIDTH}. A row of ids that is wider still stays
 * wider: an id cut short is an id lost.
 */
function fitWidths(header: readonly string[], natural: readonly number[], total: number | undefined): number[] {
  const widths = [...natural];
  if (total === undefined) return widths;
  let excess = widths.reduce((sum, w) => sum + w, 0) + 2 * (widths.length - 1) - total;
  const floor = header.map((h, i) => (FREE_TEXT_COLUMNS.includes(h) ? Math.min(natural[i] ?? 0, Math.max(h.length, MIN_CUT_WIDTH)) : (natural[i] ?? 0)));
  while (excess > 0) {
    let widest = -1;
    for (let i = 0; i < widths.length; i++) {
      if ((widths[i] ?? 0) > (floor[i] ?? 0) && (widest < 0 || (widths[i] ?? 0) > (widths[widest] ?? 0))) widest = i;
    }
    if (widest < 0) break;
    // Down to the next widest cuttable column (or the floor, or as far as needed) in one step.
    const next = Math.max(floor[widest] ?? 0, ...widths.map((w, i) => (i !== widest && w > (floor[i] ?? 0) ? w : 0)));
    const cut = Math.min(excess, Math.max(1, (widths[widest] ?? 0) - next));
    widths[widest] = (widths[widest] ?? 0) - cut;
    excess -= cut;
  }
  return widths;
}

/**
 * A history as a table: one row per message, with each failed attempt on a line of its own after
 * the message it processed (an attempt at `(steps, retries)` sits between the messages `(steps,
 * retries)` and `(steps, retries + 1)`), followed by the first frame of its stack; a redriven step's
 * new round follows the failed attempts it replaces. The `origin` column says what sent a message
 * ({@link originCell}):
 *
 * ```
 * #  at                        state        event        steps  retries  origin  via             user_context
 * 0  2026-01-01T00:00:00.000Z  pseudo_init  pseudo_init  0      0        start   stream.primary  {}
 * 1  2026-01-01T00:00:00.002Z  start        go           1      0        -       stream.primary  {"count":1}
 *    2026-01-01T00:00:00.004Z  attempt failed, retrying: middle.do_action ./actions.ts#Go threw: …
 *                                at Go (/app/actions.ts:26:3)
 * ```
 *
 * `layout` fits the message rows to a width (user_context gives way); the attempt lines keep their
 * error in full.
 */
export function formatHistory(messages: readonly JournalMessage[], attempts: readonly JournalAttempt[] = [], layout: TableLayout = {}): string {
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
    layout,
  ).split("\n");
  const indent = " ".repeat(String(Math.max(0, messages.length - 1)).length + 2);
  // A redrive sends a failed step again with its retries reset: what follows it of that step (the
  // redriven message, its retries, their attempts) is a later round, after the failed attempts
  // it replaces. A message's round: the redrives of its step so far in the journal; an attempt's:
  // the redrives of its step sent before it.
  const redrives = new Map<number, number[]>();
  const roundOfMessage = messages.map((m) => {
    if (m.origin === "redrive") redrives.set(m.steps, [...(redrives.get(m.steps) ?? []), m.at ?? 0]);
    return redrives.get(m.steps)?.length ?? 0;
  });
  const roundOfAttempt = (a: JournalAttempt) => (redrives.get(a.steps) ?? []).filter((at) => at <= a.at).length;
  const entries = [
    ...messages.map((m, i) => ({ steps: m.steps, round: roundOfMessage[i] ?? 0, retries: m.retries, kind: 0, lines: [rows[i] ?? ""] })),
    ...attempts.map((a) => ({ steps: a.steps, round: roundOfAttempt(a), retries: a.retries, kind: 1, lines: attemptLines(a, indent) })),
  ];
  // A stable sort: messages of one step keep the journal's order.
  entries.sort((a, b) => a.steps - b.steps || a.round - b.round || a.retries - b.retries || a.kind - b.kind);
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
  const from = message.migrated_from;
  if (from !== undefined) return `migrate from "${from.state}" of ${from.version ?? "unversioned"} to ${message.version ?? "?"}`;
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
    `version:        ${record.version ?? "unversioned (runs on the current definition)"}`,
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
