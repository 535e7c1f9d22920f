/**
 * What a failed attempt tells the journal (SPEC §3 step 6): which action threw, and the error cut
 * down to what a user debugging it needs — the message and the frames of their own code — within
 * a fixed size, so a huge message or a deep stack cannot bloat the journal. Pure: the paths of
 * Switchyard's own code come in as a parameter.
 */
import type { ActionSlot, JournalAttempt } from "../ports.js";
import type { ActionPhase, PlannedAction } from "./transitions.js";

/** The longest error message an attempt keeps, in characters (longer ones end in `…`). */
export const ATTEMPT_MESSAGE_LIMIT = 2_000;
/** The most stack frames an attempt keeps (the innermost ones). */
export const ATTEMPT_STACK_FRAMES = 20;
/** The longest stack an attempt keeps, in characters. */
export const ATTEMPT_STACK_LIMIT = 4_000;

const SLOTS: Record<ActionPhase, ActionSlot> = { exit: "exit_action", transition: "action", entry: "entry_action", do: "do_action" };

/** Where an action threw, as the attempt records it. */
export interface ActionSite {
  readonly state: string;
  readonly slot: ActionSlot;
  readonly event: string;
  readonly action: string;
  /** `scanning.do_action ./actions.ts#VirusScan`; a transition's action: `scanning.transitions[scanned].action …`. */
  readonly where: string;
}

/** The site of a planned action that threw while `event` was being taken. */
export function actionSite(planned: PlannedAction, event: string): ActionSite {
  const slot = SLOTS[planned.phase];
  const path = slot === "action" ? `${planned.state}.transitions[${event}].action` : `${planned.state}.${slot}`;
  return { state: planned.state, slot, event, action: planned.action.name, where: `${path} ${planned.action.name}` };
}

/** Cut `text` to `limit` characters, marking the cut with `…`. */
export function truncate(text: string, limit: number): string {
  return text.length <= limit ? text : `${text.slice(0, limit - 1)}…`;
}

/**
 * The frames of `stack` that are the user's code: its `at …` lines without Node's internals
 * (`node:` and `internal/` frames) and without Switchyard's own frames (in any of `ownPaths`, its
 * source or build directory as a path or `file:` URL). The first Switchyard frame after a user
 * frame is where Switchyard called the action: the frames below it (the engine, and whoever called
 * the engine) are not the action's, so they are cut. At most {@link ATTEMPT_STACK_FRAMES} frames
 * and {@link ATTEMPT_STACK_LIMIT} characters; `undefined` when none is left.
 */
export function userFrames(stack: string | undefined, ownPaths: readonly string[]): string | undefined {
  if (stack === undefined) return undefined;
  const frames: string[] = [];
  for (const raw of stack.split("\n")) {
    const line = raw.trim();
    if (!line.startsWith("at ") || /[( ]node:|\(internal\/|^at internal\/|^at <anonymous>$/.test(line)) continue;
    if (ownPaths.some((own) => line.includes(own))) {
      if (frames.length > 0) break;
      continue;
    }
    frames.push(line);
    if (frames.length === ATTEMPT_STACK_FRAMES) break;
  }
  if (frames.length === 0) return undefined;
  return truncate(frames.join("\n"), ATTEMPT_STACK_LIMIT);
}

/** The error part of an attempt: name, capped message and the user's frames. */
export function describeError(
  error: unknown,
  ownPaths: readonly string[],
): Pick<JournalAttempt, "error_name" | "error" | "stack"> {
  if (error instanceof Error) {
    return {
      error_name: error.name,
      error: truncate(error.message, ATTEMPT_MESSAGE_LIMIT),
      stack: userFrames(error.stack, ownPaths),
    };
  }
  return { error_name: typeof error, error: truncate(String(error), ATTEMPT_MESSAGE_LIMIT), stack: undefined };
}
