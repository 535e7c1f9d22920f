/**
 * The order machine's actions. The bundle registers them in code (handler.ts), so the function
 * needs no action modules beside the YAML.
 */
import type { ActionContext } from "switchyard-fsm";

/** `valid` when the order has items and a positive total, else `invalid`. */
export function Validate(context: ActionContext): string {
  const { items, total } = context.data as { items?: unknown[]; total?: number };
  return Array.isArray(items) && items.length > 0 && typeof total === "number" && total > 0 ? "valid" : "invalid";
}

/** Charges the card (here: records the charge); an error here is retried with backoff. */
export function Charge(context: ActionContext): string {
  context.data.charged = context.data.total;
  return "charged";
}

/** Logs the outcome; a real one would e-mail the customer. */
export function Notify(context: ActionContext): void {
  console.log(JSON.stringify({ order: context.correlationId, state: context.currentState }));
}
