/**
 * The graph check of one machine: state names, the initial state, transition targets and events,
 * reachability and dead ends.
 */
import { DefinitionError, type SourceLocation } from "../errors.js";
import type { DraftMachine, DraftState } from "./check-shape.js";
import { hint } from "./suggest.js";

/** Every graph problem of `machine` (whose shape has been checked). */
export function checkGraph(machine: DraftMachine): DefinitionError[] {
  const problems: DefinitionError[] = [];
  const report = (message: string, at: SourceLocation | undefined) => problems.push(new DefinitionError(message, at));
  const states = new Map<string, DraftState>();
  for (const state of machine.states ?? []) {
    if (state.name === undefined) continue;
    const first = states.get(state.name.value);
    if (first === undefined) states.set(state.name.value, state);
    else report(`duplicate state "${state.name.value}" in ${machine.label}${seeAlso(first.name?.at)}; rename one of them`, state.name.at);
  }
  const names = [...states.keys()];

  const initials = (machine.states ?? []).filter((state) => state.initial !== undefined);
  if (machine.states !== undefined && initials.length === 0) {
    report(`${machine.label} has no initial state; mark one state with initial: true`, machine.name?.at ?? machine.at);
  }
  if (initials.length > 1) {
    const listed = initials.map((state) => (state.name ? `"${state.name.value}"` : state.label)).join(", ");
    report(`${machine.label} has ${initials.length} initial states (${listed}); mark only one with initial: true`, initials[1]?.initial?.at);
  }

  for (const state of states.values()) {
    const events = new Map<string, SourceLocation | undefined>();
    for (const transition of state.transitions) {
      if (transition.target !== undefined && !states.has(transition.target.value)) {
        report(
          `unknown target state "${transition.target.value}" in ${transition.label}; ${hint(transition.target.value, names, "states")}`,
          transition.target.at,
        );
      }
      if (transition.event === undefined) continue;
      if (events.has(transition.event.value)) {
        report(
          `${state.label} has two transitions on event "${transition.event.value}"${seeAlso(events.get(transition.event.value))}; keep one`,
          transition.event.at,
        );
      } else {
        events.set(transition.event.value, transition.event.at);
      }
    }
    if (!state.final && state.transitions.length === 0) {
      report(`${state.label} is not final and has no transitions; add a transition or mark it final: true`, state.name?.at);
    }
  }

  const initial = initials.length === 1 ? initials[0]?.name?.value : undefined;
  if (initial !== undefined) {
    const reached = reachable(states, initial);
    for (const [name, state] of states) {
      if (!reached.has(name)) {
        report(`${state.label} is unreachable from the initial state "${initial}"; add a transition to it or remove it`, state.name?.at);
      }
    }
  }
  return problems;
}

function reachable(states: ReadonlyMap<string, DraftState>, initial: string): Set<string> {
  const seen = new Set([initial]);
  const pending = [initial];
  for (let name = pending.pop(); name !== undefined; name = pending.pop()) {
    for (const transition of states.get(name)?.transitions ?? []) {
      const target = transition.target?.value;
      if (target !== undefined && states.has(target) && !seen.has(target)) {
        seen.add(target);
        pending.push(target);
      }
    }
  }
  return seen;
}

/** ` (first at file:line:column)` when the other occurrence has a location. */
export function seeAlso(at: SourceLocation | undefined): string {
  return at === undefined ? "" : ` (first at ${at.file}:${at.line}:${at.column})`;
}
