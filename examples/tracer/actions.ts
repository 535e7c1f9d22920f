import type { ActionContext, ActionFunction } from "switchyard-fsm";

/** An action that logs where the instance is; logs go to stderr so the CLI's stdout stays clean. */
function log(kind: "entry" | "exit" | "transition"): ActionFunction {
  return (context) => {
    const { correlationId, currentState, currentEvent, steps, retries } = context;
    console.error(
      `[tracer ${correlationId.slice(0, 8)}] ${kind.padEnd(10)} state=${currentState} event=${currentEvent} steps=${steps} retries=${retries} counter=${context.data.counter ?? 0}`,
    );
  };
}

export const LogEntry = log("entry");
export const LogExit = log("exit");
export const LogTransition = log("transition");

/**
 * Counts one loop and picks the next event: `event1` from state1, `event2` from state2, `done` once
 * `counter` reaches `loops` (default 5). Fails with probability `failure_rate` (default 0.1) before
 * changing anything; the engine discards the attempt and retries the original message with backoff.
 */
export function Increment(context: ActionContext): string {
  const loops = Number(context.data.loops ?? 5);
  const failureRate = Number(context.data.failure_rate ?? 0.1);
  if (Math.random() < failureRate) {
    throw new Error(`random failure in ${context.currentState} (failure_rate ${failureRate})`);
  }
  const counter = Number(context.data.counter ?? 0) + 1;
  context.data.counter = counter;
  if (counter >= loops) return "done";
  return context.currentState === "state1" ? "event1" : "event2";
}
