/**
 * Transition lookup and the plan of one transition (SPEC §3 step 3), without executing anything:
 * the engine runs the planned actions in order. Knows the two pseudo-states every machine has.
 */
import type { Action } from "./action.js";
import type { MachineDefinition, StateDefinition, TransitionDefinition } from "./machine.js";
import { ABORT_EVENT, PSEUDO_FINAL, PSEUDO_INIT, TIMER_EVENT } from "./message.js";
import { SwitchyardError } from "../errors.js";

/** The current state has no transition on the current event. An action-level error: it is retried. */
export class TransitionNotFoundError extends SwitchyardError {
  override readonly name = "TransitionNotFoundError";
  constructor(machine: string, state: string, event: string) {
    super(
      "transition_not_found",
      `machine "${machine}" has no transition from state "${state}" on event "${event}"; add it to the definition or return another event`,
    );
  }
}

/** Which of a transition's actions a planned action is. */
export type ActionPhase = "exit" | "transition" | "entry" | "do";

/** One action to run, with the state the instance is in while it runs. */
export interface PlannedAction {
  readonly phase: ActionPhase;
  readonly action: Action;
  readonly state: string;
}

/** The plan of one transition: the actions in protocol order and where it ends. */
export interface TransitionPlan {
  readonly transition: TransitionDefinition;
  readonly actions: readonly PlannedAction[];
  readonly target: StateDefinition | undefined;
  /** The target is a final state (or the pseudo-final state): no next event. */
  readonly final: boolean;
}

/** The transition taken from `state` on `event`, including the pseudo-transitions. */
export function findTransition(
  machine: MachineDefinition,
  state: string,
  event: string,
): TransitionDefinition | undefined {
  if (state === PSEUDO_INIT) {
    return event === PSEUDO_INIT
      ? { event, source: PSEUDO_INIT, target: machine.initialState, local: false }
      : undefined;
  }
  const definition = machine.states.get(state);
  if (definition === undefined) return undefined;
  const transition = definition.transitions.get(event);
  if (transition !== undefined) return transition;
  if (definition.final && event === PSEUDO_FINAL) {
    return { event, source: state, target: PSEUDO_FINAL, local: false };
  }
  return undefined;
}

/**
 * Plan the transition from `state` on `event`: exit action of the current state, then the
 * transition's action, then the target's entry and do actions.
 */
export function planTransition(machine: MachineDefinition, state: string, event: string): TransitionPlan {
  const transition = findTransition(machine, state, event);
  if (transition === undefined) throw new TransitionNotFoundError(machine.name, state, event);
  const source = machine.states.get(state);
  const target = machine.states.get(transition.target);
  const actions: PlannedAction[] = [];
  if (source?.exitAction) actions.push({ phase: "exit", action: source.exitAction, state });
  if (transition.action) actions.push({ phase: "transition", action: transition.action, state });
  if (target?.entryAction) actions.push({ phase: "entry", action: target.entryAction, state: target.name });
  if (target?.doAction) actions.push({ phase: "do", action: target.doAction, state: target.name });
  return { transition, actions, target, final: target === undefined || target.final };
}

/** Whether taking `event` from `state` happens in the same processing (a local transition). */
export function isLocal(machine: MachineDefinition, state: string, event: string): boolean {
  return findTransition(machine, state, event)?.local === true;
}

/**
 * Plan an operator's abort with compensation (the machine's `on_abort` state): the current state's
 * exit action, then the abort state's entry and do actions.
 */
export function planAbort(machine: MachineDefinition, state: string, abortState: string): TransitionPlan {
  const source = machine.states.get(state);
  const target = machine.states.get(abortState);
  if (target === undefined) throw new TransitionNotFoundError(machine.name, state, ABORT_EVENT);
  const actions: PlannedAction[] = [];
  if (source?.exitAction) actions.push({ phase: "exit", action: source.exitAction, state });
  if (target.entryAction) actions.push({ phase: "entry", action: target.entryAction, state: target.name });
  if (target.doAction) actions.push({ phase: "do", action: target.doAction, state: target.name });
  return { transition: { event: ABORT_EVENT, source: state, target: target.name, local: false }, actions, target, final: target.final };
}

/** The timer transition of `state` (its `after:`), if it has one. */
export function timerOf(machine: MachineDefinition, state: string): TransitionDefinition | undefined {
  const transition = machine.states.get(state)?.transitions.get(TIMER_EVENT);
  return transition?.afterSeconds === undefined ? undefined : transition;
}
