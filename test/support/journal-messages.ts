/** Journal entries for tests that only care about a few of their fields. */
import type { JournalMessage } from "../../src/ports.js";

/** A message of `state` at `steps`, sent at `at` to the primary stream (event "go", no retries, empty context). */
export function sentMessage(steps: number, state: string, at: number, extra: Partial<JournalMessage> = {}): JournalMessage {
  return { current_state: state, current_event: "go", steps, retries: 0, user_context: {}, role: "stream", side: "primary", at, ...extra };
}

/**
 * The contracts' entry of step `steps`: state `state<steps>`, event `event<steps>`, user context
 * `{count: steps}`, sent to the primary stream at `at + steps`.
 */
export function stepEntry(steps: number, at: number, extra: Partial<JournalMessage> = {}): JournalMessage {
  return {
    current_state: `state${steps}`,
    current_event: `event${steps}`,
    steps,
    retries: 0,
    user_context: { count: steps },
    role: "stream",
    side: "primary",
    at: at + steps,
    ...extra,
  };
}
