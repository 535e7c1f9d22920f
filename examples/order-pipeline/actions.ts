import { type ActionContext, type ActionObj, maxRetryEvent } from "switchyard-fsm";
import { carrier, inventory, type Line, PRICES, payments } from "./services.js";

function lines(context: ActionContext): Line[] {
  return (context.data.items ?? []) as Line[];
}

function log(context: ActionContext, message: string): void {
  console.error(`[order ${String(context.data.order_id)}] ${context.currentState} (retries=${context.retries}): ${message}`);
}

export function ValidateOrder(context: ActionContext): string {
  const items = lines(context);
  const problems: string[] = [];
  if (typeof context.data.order_id !== "string") problems.push("order_id is missing");
  if (items.length === 0) problems.push("the order has no items");
  for (const item of items) {
    if (!(item.sku in PRICES)) problems.push(`unknown sku ${item.sku}`);
    if (!Number.isInteger(item.qty) || item.qty <= 0) problems.push(`bad quantity for ${item.sku}`);
  }
  if (problems.length > 0) {
    context.data.rejection = problems.join("; ");
    log(context, `invalid: ${context.data.rejection}`);
    return "invalid";
  }
  context.data.total = items.reduce((sum, i) => sum + (PRICES[i.sku] ?? 0) * i.qty, 0);
  log(context, `valid, total ${context.data.total}`);
  return "valid";
}

/**
 * Inventory is shared by every order, so the reservation is keyed by this instance's correlation id
 * (one reservation per order, whichever step or retry makes it) and guarded by the lease's fence token.
 */
export function ReserveInventory(context: ActionContext, obj: ActionObj): string {
  const result = inventory.reserve(context.correlationId, obj.fenceToken, lines(context));
  log(context, result);
  if (result === "out_of_stock") context.data.rejection = "out of stock";
  return result;
}

/**
 * `correlationId-steps` names this step, not this attempt: every retry of it sends the same key, so
 * a charge whose reply was lost is found again instead of charged twice. On the last failed retry,
 * maxRetryEvent turns the error into `payment_failed`, which releases the stock.
 */
export const ChargePayment = maxRetryEvent("payment_failed")((context: ActionContext) => {
  const key = `${context.correlationId}-${context.steps}`;
  try {
    const { chargeId, replayed } = payments.charge(key, String(context.data.card ?? "ok"), Number(context.data.total));
    log(context, `${chargeId} with key ${key}${replayed ? " (already charged: not charged again)" : ""}`);
    context.data.charge_id = chargeId;
    return "charged";
  } catch (error) {
    // Kept only if this was the last attempt (a retry discards the attempt's context changes).
    context.data.payment_error = (error as Error).message;
    log(context, (error as Error).message);
    throw error;
  }
});

export function ReleaseInventory(context: ActionContext, obj: ActionObj): string {
  inventory.release(context.correlationId, obj.fenceToken);
  log(context, "stock released");
  return "released";
}

export function Ship(context: ActionContext, obj: ActionObj): string {
  context.data.tracking = carrier.ship(String(context.data.order_id));
  obj.delay = Number(context.data.transit_seconds ?? 1); // wait before the delivery message
  log(context, `shipped as ${String(context.data.tracking)}`);
  return "shipped";
}

export function NotifyCustomer(context: ActionContext): void {
  const why = context.data.rejection ?? context.data.payment_error;
  log(context, `email to customer: order ${context.currentState}${why ? ` (${String(why)})` : ""}`);
}
