/** The `history` table: one row per message, with what sent it and, for a delayed one, when it is due. */
import { describe, expect, it } from "vitest";
import { formatHistory, originCell } from "../../../src/cli/format.js";
import type { JournalAttempt, JournalMessage, MessageOrigin } from "../../../src/ports.js";

const T0 = Date.parse("2026-01-01T00:00:00.000Z");

function message(steps: number, retries: number, state: string, event: string, extra: Partial<JournalMessage> = {}): JournalMessage {
  return { current_state: state, current_event: event, steps, retries, user_context: {}, role: "stream", side: "primary", at: T0 + steps * 1000 + retries, ...extra };
}

describe("formatHistory", () => {
  it("shows each message's origin in its own column, and when a timer is due", () => {
    const timer = message(3, 0, "review", "pseudo_timer", { origin: "timer", due: T0 + 3000 + 48 * 3600 * 1000, role: "retry" });
    expect(
      formatHistory([
        message(0, 0, "pseudo_init", "pseudo_init"),
        message(1, 0, "charging", "charged"),
        message(1, 1, "charging", "charged", { role: "retry" }),
        message(2, 0, "holding", "held"),
        timer,
        message(3, 0, "review", "approve", { origin: "event" }),
        message(3, 0, "review", "approve", { origin: "resume" }),
      ]).split("\n"),
    ).toEqual([
      "#  at                        state        event         steps  retries  origin                               via             user_context",
      "0  2026-01-01T00:00:00.000Z  pseudo_init  pseudo_init   0      0        start                                stream.primary  {}",
      "1  2026-01-01T00:00:01.000Z  charging     charged       1      0        -                                    stream.primary  {}",
      "2  2026-01-01T00:00:01.001Z  charging     charged       1      1        -                                    retry.primary   {}",
      "3  2026-01-01T00:00:02.000Z  holding      held          2      0        -                                    stream.primary  {}",
      "4  2026-01-01T00:00:03.000Z  review       pseudo_timer  3      0        timer, due 2026-01-03T00:00:03.000Z  retry.primary   {}",
      "5  2026-01-01T00:00:03.000Z  review       approve       3      0        event                                stream.primary  {}",
      "6  2026-01-01T00:00:03.000Z  review       approve       3      0        resume                               stream.primary  {}",
    ]);
  });

  it("puts a redriven step after the failed attempts it replaces, with the attempts of its own round after it", () => {
    const attempt = (retries: number, at: number, outcome: "retry" | "fatal"): JournalAttempt => ({
      at,
      current_state: "sending",
      current_event: "sent",
      steps: 1,
      retries,
      outcome,
      error_name: "TypeError",
      error: `failure ${at - T0}`,
    });
    const rows = formatHistory(
      [
        message(0, 0, "pseudo_init", "pseudo_init"),
        message(1, 0, "drafting", "drafted"),
        message(1, 1, "drafting", "drafted", { role: "retry" }),
        message(1, 0, "drafting", "drafted", { origin: "redrive", at: T0 + 9000 }),
        message(2, 0, "sending", "sent", { at: T0 + 9500 }),
      ],
      [attempt(0, T0 + 1500, "retry"), attempt(1, T0 + 2500, "fatal"), attempt(0, T0 + 9200, "retry")],
    )
      .split("\n")
      .map((row) => row.replace(/\s+/g, " ").trim().split(" ").slice(0, 6).join(" "));
    expect(rows).toEqual([
      "# at state event steps retries",
      "0 2026-01-01T00:00:00.000Z pseudo_init pseudo_init 0 0",
      "1 2026-01-01T00:00:01.000Z drafting drafted 1 0",
      "2026-01-01T00:00:01.500Z attempt failed, retrying: failure 1500",
      "2 2026-01-01T00:00:01.001Z drafting drafted 1 1",
      "2026-01-01T00:00:02.500Z attempt failed, instance failed: failure",
      "3 2026-01-01T00:00:09.000Z drafting drafted 1 0",
      "2026-01-01T00:00:09.200Z attempt failed, retrying: failure 9200",
      "4 2026-01-01T00:00:09.500Z sending sent 2 0",
    ]);
  });

  it.each<[MessageOrigin | undefined, number | undefined, string]>([
    ["start", undefined, "start"],
    ["abort", undefined, "abort"],
    ["recover", T0 + 90_000, "recover, due 2026-01-01T00:01:30.000Z"],
    ["redrive", undefined, "redrive"],
    ["dead-letter", undefined, "dead-letter"],
    [undefined, undefined, "-"],
  ])("origin %s (due %s) reads %s", (origin, due, cell) => {
    expect(originCell(message(2, 0, "review", "go", { origin, due }))).toBe(cell);
  });

  it("calls an instance's first message start: the start message records no origin", () => {
    expect(originCell(message(0, 0, "pseudo_init", "pseudo_init"))).toBe("start");
    expect(originCell(message(0, 1, "pseudo_init", "pseudo_init", { role: "retry" }))).toBe("-");
    expect(originCell(message(0, 0, "pseudo_init", "pseudo_init", { origin: "redrive" }))).toBe("redrive");
  });
});
