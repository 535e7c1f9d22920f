import type { ActionContext } from "switchyard-fsm";
import { holds } from "./holds.js";

/** The most one expense may hold on the card. */
const CARD_LIMIT = 5000;

function log(context: ActionContext, message: string): void {
  console.error(`[expense ${context.correlationId}] ${context.currentState}: ${message}`);
}

function amount(context: ActionContext): string {
  return `${Number(context.data.amount).toFixed(2)} EUR`;
}

export function CheckExpense(context: ActionContext): string {
  const { employee, amount: value } = context.data;
  const problems: string[] = [];
  if (typeof employee !== "string" || employee === "") problems.push("employee is missing");
  if (typeof value !== "number" || !(value > 0)) problems.push("amount must be a positive number");
  else if (value > CARD_LIMIT) problems.push(`amount is over the card limit of ${CARD_LIMIT}`);
  if (problems.length > 0) {
    context.data.rejection = problems.join("; ");
    log(context, `invalid: ${context.data.rejection}`);
    return "invalid";
  }
  log(context, `${amount(context)} for ${String(context.data.what ?? "an expense")} by ${employee}`);
  return "valid";
}

/** Keyed by the correlation id: a retry of this step finds the hold it placed instead of holding twice. */
export function PlaceHold(context: ActionContext): string {
  const { replayed } = holds.place(context.correlationId, String(context.data.employee), Number(context.data.amount));
  log(context, `${amount(context)} held on the card${replayed ? " (already held: not held again)" : ""}`);
  return "held";
}

/** Returns no event: the instance waits for `approve` or `reject`, or for its timer. */
export function AskManager(context: ActionContext): void {
  log(context, "waiting for a manager to approve or reject");
}

export function AskFinance(context: ActionContext): void {
  log(context, "waiting for finance to approve or reject");
}

/** The action of the `approve` and `reject` transitions: the event's data says who decided. */
export function RecordDecision(context: ActionContext): void {
  const data = (context.data.event_data ?? {}) as { by?: unknown; note?: unknown };
  context.data.decided_by = typeof data.by === "string" ? data.by : "unknown";
  if (typeof data.note === "string") context.data.note = data.note;
  const note = typeof data.note === "string" ? ` (${data.note})` : "";
  log(context, `${context.currentEvent === "approve" ? "approved" : "rejected"} by ${String(context.data.decided_by)}${note}`);
}

/** The action of the timer transition out of `awaiting_approval`. */
export function Escalate(context: ActionContext): void {
  context.data.escalated = true;
  log(context, "no answer in time: escalated to finance");
}

export function CaptureHold(context: ActionContext): string {
  holds.capture(context.correlationId, context.data.decided_by as string | undefined);
  log(context, `${amount(context)} captured and paid out to ${String(context.data.employee)}`);
  return "paid";
}

/**
 * The compensation of a hold: entry action of `rejected` and `expired`, and the do action of
 * `cancelling`, the `on_abort` state. Safe to repeat: a released hold is not released again.
 */
export function ReleaseHold(context: ActionContext): string {
  const done = holds.release(context.correlationId, context.data.decided_by as string | undefined);
  log(context, done === "none" ? "no hold to release" : `hold of ${amount(context)} ${done}`);
  return "released";
}

export function Notify(context: ActionContext): void {
  log(context, `email to ${String(context.data.employee)}: expense ${context.currentState}`);
}
