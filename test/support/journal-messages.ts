/** Journal entries for tests that only care about a few of their fields. */
import type { JournalMessage } from "../../src/ports.js";

/** A message of `state` at `steps`, sent at `at` to the primary stream (event "go", no retries, empty context). */
export function sentMessage(steps: number, state: string, at: number, extra: Partial<JournalMessage> = {}): JournalMessage {
  return { current_state: state, current_event: "go", steps, retries: 0, user_context: {}, role: "stream", side: "primary", at, ...extra };
}
