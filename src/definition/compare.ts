/**
 * Comparing two versions of a machine (`switchyard validate --against`, SPEC §10): what deploying the
 * next version would strand of the instances that run the previous one.
 */
import { PSEUDO_INIT, TIMER_EVENT } from "../core/message.js";
import { DefinitionError } from "../errors.js";
import type { MachineDefinition, StateDefinition, TransitionDefinition } from "./types.js";

/**
 * The problems a deploy of `next` would cause for instances of `previous`, located in `next`:
 *
 * - a state of `previous` that `next` no longer has, unless a `migrate:` entry of `next` whose `from`
 *   is `previous`'s version (hash) or label maps it to another state (a final state is not one: an
 *   instance in it has ended and never moves to another version);
 * - an event (or the timer) that a state kept in `next` no longer has a transition for, since an
 *   instance waiting in that state for it would never move again (a state the migration moves
 *   instances out of is not checked).
 *
 * Without `occupied` (comparing with an earlier file) every state of `previous` counts. With it (the
 * deployed mode: the number of running, waiting and paused instances of `previous`'s version per
 * state), only the occupied states and the states reachable from them in `previous` count, and the
 * messages say how many instances are in each occupied state. An empty list when nothing is stranded.
 *
 * @example
 * ```ts
 * for (const problem of checkAgainst(deployed, next, new Map([["shipping", 12]]))) console.error(problem.toString());
 * ```
 */
export function checkAgainst(
  previous: MachineDefinition,
  next: MachineDefinition,
  occupied?: ReadonlyMap<string, number>,
): DefinitionError[] {
  if (previous.version === next.version) return [];
  const problems: DefinitionError[] = [];
  const moved = migratedStates(previous, next);
  const counted = (state: string) => {
    const count = occupied?.get(state) ?? 0;
    return count > 0 ? ` (${count} instance${count === 1 ? " is" : "s are"} in it)` : "";
  };
  // A label shared by both versions cannot name the previous one in a migration: only its hash can.
  const from = previous.label !== undefined && previous.label !== next.label ? previous.label : previous.version;
  const machine = `machine "${next.name}"`;
  const considered = occupied === undefined ? undefined : occupiedClosure(previous, occupied);
  for (const state of previous.states.values()) {
    if (considered !== undefined && !considered.has(state.name)) continue;
    if (moved.has(state.name) || state.final) continue;
    const kept = next.states.get(state.name);
    if (kept === undefined) {
      const message =
        `state "${state.name}" of ${machine} version ${previous.version} is gone from version ${next.version}${counted(state.name)}; ` +
        `add a migrate: entry from "${from}" mapping it to a state of the new definition, or keep the state until its instances end`;
      problems.push(new DefinitionError(message, next.location));
      continue;
    }
    for (const transition of state.transitions.values()) {
      if (kept.transitions.has(transition.event)) continue;
      const waiting = transition.event === TIMER_EVENT ? `the timer after ${timerDelay(transition)}` : `"${transition.event}"`;
      const removed = transition.event === TIMER_EVENT ? "its timer transition" : `its transition on "${transition.event}"`;
      const message =
        `instances waiting in "${state.name}" for ${waiting} would be stranded: version ${next.version} of ${machine} removes ${removed}${counted(state.name)}; ` +
        `keep the transition until those instances end, or add a migrate: entry from "${from}" mapping "${state.name}" to a state that handles them`;
      problems.push(new DefinitionError(message, kept.location ?? next.location));
    }
  }
  // In the order of the new file, as validation reports its problems; those without a location (code) keep theirs.
  const position = (problem: DefinitionError) => (problem.location === undefined ? [Number.MAX_SAFE_INTEGER, 0] : [problem.location.line, problem.location.column]);
  return problems
    .map((problem) => ({ problem, at: position(problem) }))
    .sort((a, b) => a.at[0] - b.at[0] || a.at[1] - b.at[1])
    .map(({ problem }) => problem);
}

/** The states of `previous` that a `migrate:` entry of `next` for that version moves instances out of. */
function migratedStates(previous: MachineDefinition, next: MachineDefinition): Set<string> {
  const moved = new Set<string>();
  for (const migration of next.migrations) {
    if (migration.from !== previous.version && (previous.label === undefined || migration.from !== previous.label)) continue;
    for (const [old, target] of migration.states) if (old !== target) moved.add(old);
  }
  return moved;
}

/**
 * The occupied states (with a count above zero) and every state reachable from them by `previous`'s
 * transitions. An instance that has not entered a state yet (`pseudo_init`) is on its way to the
 * initial state.
 */
function occupiedClosure(previous: MachineDefinition, occupied: ReadonlyMap<string, number>): Set<string> {
  const roots = [...occupied].filter(([, count]) => count > 0).map(([state]) => (state === PSEUDO_INIT ? previous.initialState : state));
  const seen = new Set(roots.filter((state) => previous.states.has(state)));
  const pending = [...seen];
  for (let name = pending.pop(); name !== undefined; name = pending.pop()) {
    const state: StateDefinition | undefined = previous.states.get(name);
    for (const transition of state?.transitions.values() ?? []) {
      if (!previous.states.has(transition.target) || seen.has(transition.target)) continue;
      seen.add(transition.target);
      pending.push(transition.target);
    }
  }
  return seen;
}

function timerDelay(transition: TransitionDefinition): string {
  return transition.after ?? `${transition.afterSeconds}s`;
}
