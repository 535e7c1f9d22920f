/**
 * A stand-in for the card issuer's authorisation holds: a JSON file, `holds.json`, in the working
 * directory of the process that runs the actions (no network), so you can watch a hold being
 * placed, captured, released or refunded with `cat holds.json`.
 *
 * Every operation is keyed by the instance's correlation id and safe to repeat: delivery is
 * at-least-once and a failed step runs again from its message, so placing a hold twice must not
 * hold the amount twice, and releasing twice must not refund twice. The actions are synchronous,
 * so the read-modify-write of one worker process never interleaves; a real issuer would keep the
 * holds in its own database (two worker processes sharing this file could race).
 */
import { existsSync, readFileSync, renameSync, writeFileSync } from "node:fs";

export type HoldStatus = "held" | "captured" | "released" | "refunded";

export interface Hold {
  employee: string;
  amount: number;
  status: HoldStatus;
  /** Who approved or rejected it (`--data '{"by": "ana"}'`). */
  by?: string;
}

/** Relative: the working directory of the worker (or `run`) that runs the actions. */
export const HOLDS_FILE = "holds.json";

function load(): Record<string, Hold> {
  return existsSync(HOLDS_FILE) ? (JSON.parse(readFileSync(HOLDS_FILE, "utf8")) as Record<string, Hold>) : {};
}

/** One hold per line, so `cat holds.json` reads like a ledger; written whole and renamed into place. */
function save(holds: Record<string, Hold>): void {
  const lines = Object.entries(holds).map(([key, hold]) => `  ${JSON.stringify(key)}: ${JSON.stringify(hold)}`);
  writeFileSync(`${HOLDS_FILE}.tmp`, `{\n${lines.join(",\n")}\n}\n`);
  renameSync(`${HOLDS_FILE}.tmp`, HOLDS_FILE);
}

export const holds = {
  /** Hold `amount` for `key`; a hold that exists already is returned as it is. */
  place(key: string, employee: string, amount: number): { hold: Hold; replayed: boolean } {
    const all = load();
    const existing = all[key];
    if (existing) return { hold: existing, replayed: true };
    const hold: Hold = { employee, amount, status: "held" };
    all[key] = hold;
    save(all);
    return { hold, replayed: false };
  },

  /** Turn the hold into a payment; capturing again changes nothing. */
  capture(key: string, by: string | undefined): Hold {
    const all = load();
    const hold = all[key];
    if (!hold) throw new Error(`no hold for ${key} to capture`);
    if (hold.status === "held") {
      hold.status = "captured";
      if (by !== undefined) hold.by = by;
      save(all);
    }
    return hold;
  },

  /**
   * Undo what was done: a held amount is released, a captured one refunded. Returns what it did
   * (`none` when there is no hold, or it was released or refunded already).
   */
  release(key: string, by: string | undefined): "released" | "refunded" | "none" {
    const all = load();
    const hold = all[key];
    if (!hold || (hold.status !== "held" && hold.status !== "captured")) return "none";
    hold.status = hold.status === "held" ? "released" : "refunded";
    if (by !== undefined) hold.by = by;
    save(all);
    return hold.status;
  },
};
