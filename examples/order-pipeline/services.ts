/**
 * In-process stand-ins for the external services an order pipeline calls (no network). Their state
 * lives in this process's memory, which is enough for `switchyard run`; real services would keep it
 * in their own databases and honour the same idempotency keys and fence tokens.
 */

export const PRICES: Readonly<Record<string, number>> = { widget: 12.5, gadget: 40, gizmo: 99 };

const stock = new Map<string, number>([
  ["widget", 10],
  ["gadget", 3],
  ["gizmo", 0],
]);

export interface Line {
  sku: string;
  qty: number;
}

/** Reservations by idempotency key, with the highest fence token that has written each one. */
const reservations = new Map<string, { lines: Line[]; fence: number; released: boolean }>();

export const inventory = {
  /**
   * Reserves all lines or none. Calling again with the same key returns the existing reservation;
   * a call with a lower fence token than one already seen comes from a worker whose lease has
   * expired and been taken over, so it is refused instead of applied twice.
   */
  reserve(key: string, fence: number, lines: Line[]): "reserved" | "out_of_stock" {
    const existing = reservations.get(key);
    if (existing) {
      if (fence < existing.fence) throw new Error(`stale fence token ${fence} < ${existing.fence} for ${key}`);
      existing.fence = fence;
      return "reserved";
    }
    if (lines.some((l) => (stock.get(l.sku) ?? 0) < l.qty)) return "out_of_stock";
    for (const l of lines) stock.set(l.sku, (stock.get(l.sku) ?? 0) - l.qty);
    reservations.set(key, { lines, fence, released: false });
    return "reserved";
  },

  /** Puts the reserved stock back; releasing twice is a no-op. */
  release(key: string, fence: number): void {
    const r = reservations.get(key);
    if (!r || r.released) return;
    if (fence < r.fence) throw new Error(`stale fence token ${fence} < ${r.fence} for ${key}`);
    for (const l of r.lines) stock.set(l.sku, (stock.get(l.sku) ?? 0) + l.qty);
    r.released = true;
  },
};

const charges = new Map<string, string>();
let timedOut = false;

export const payments = {
  /**
   * Charges a card once per idempotency key. Cards: "ok", "declined" (always refused),
   * "timeout_once" (the first call charges but the reply is lost, as a network timeout would).
   */
  charge(key: string, card: string, amount: number): { chargeId: string; replayed: boolean } {
    const existing = charges.get(key);
    if (existing) return { chargeId: existing, replayed: true };
    if (card === "declined") throw new Error(`card declined for ${amount.toFixed(2)}`);
    const chargeId = `ch_${charges.size + 1}`;
    charges.set(key, chargeId);
    if (card === "timeout_once" && !timedOut) {
      timedOut = true;
      throw new Error("payment gateway timed out (the charge went through)");
    }
    return { chargeId, replayed: false };
  },
};

export const carrier = {
  ship(orderId: string): string {
    return `TRK-${orderId}`;
  },
};
