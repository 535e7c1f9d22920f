/**
 * The graph check of one machine: state names, the initial state, transition targets and events,
 * timers, the `on_abort` state, reachability, dead ends, and the `migrate:` entries.
 */
import { TASK_TIMEOUT_EVENT } from "../core/task.js";
import { DefinitionError, type SourceLocation } from "../errors.js";
import type { DraftMachine, DraftState, DraftTransition } from "./check-shape.js";
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
    let firstTimer: DraftTransition | undefined;
    for (const transition of state.transitions) {
      if (transition.target !== undefined && !states.has(transition.target.value)) {
        report(
          `unknown target state "${transition.target.value}" in ${transition.label}; ${hint(transition.target.value, names, "states")}`,
          transition.target.at,
        );
      }
      if (transition.after !== undefined) {
        if (state.final) {
          report(`final ${state.label} has a timer transition; an instance never waits in a final state, so remove it or make the state non-final`, transition.after.at);
        } else if (firstTimer !== undefined) {
          report(`${state.label} has two timer transitions${seeAlso(firstTimer.after?.at)}; keep one`, transition.after.at);
        }
        firstTimer ??= transition;
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
    if (state.task !== undefined) checkTask(state, report);
    if (!state.final && state.transitions.length === 0) {
      report(`${state.label} is not final and has no transitions; add a transition or mark it final: true`, state.name?.at);
    }
  }

  const onAbort = machine.onAbort;
  let abortState: string | undefined;
  if (onAbort !== undefined && !states.has(onAbort.value)) {
    report(`unknown on_abort state "${onAbort.value}" in ${machine.label}; ${hint(onAbort.value, names, "states")}`, onAbort.at);
  } else if (onAbort !== undefined && states.get(onAbort.value)?.initial !== undefined) {
    report(`on_abort of ${machine.label} names its initial state "${onAbort.value}"; name the state that compensates for an aborted instance`, onAbort.at);
  } else {
    abortState = onAbort?.value;
  }

  checkMigrations(machine, names, report);

  const initial = initials.length === 1 ? initials[0]?.name?.value : undefined;
  if (initial !== undefined) {
    // An aborted instance enters the on_abort state without a transition: it and what follows it count as reached.
    const reached = reachable(states, abortState === undefined ? [initial] : [initial, abortState]);
    for (const [name, state] of states) {
      if (!reached.has(name)) {
        const from = abortState === undefined ? "" : ` or the on_abort state "${abortState}"`;
        report(`${state.label} is unreachable from the initial state "${initial}"${from}; add a transition to it or remove it`, state.name?.at);
      }
    }
  }
  return problems;
}

/**
 * A task state: not final; a `timeout` or `heartbeat` needs a `task_timeout` transition (their
 * timer takes it) and leaves no room for an `after:` timer; its transitions are not local, since a
 * task's report always arrives as a message of its own.
 */
function checkTask(state: DraftState, report: (message: string, at: SourceLocation | undefined) => void): void {
  const task = state.task;
  if (task === undefined) return;
  if (state.final) {
    report(`final ${state.label} runs a task; an instance never waits in a final state, so remove the task or make the state non-final`, task.at);
    return;
  }
  const timed = task.value.timeoutSeconds !== undefined || task.value.heartbeatSeconds !== undefined;
  const timeoutTransition = state.transitions.find((transition) => transition.event?.value === TASK_TIMEOUT_EVENT);
  if (timed && timeoutTransition === undefined) {
    report(`task of ${state.label} has a timeout or heartbeat but the state has no transition on event "${TASK_TIMEOUT_EVENT}"; add one (- event: ${TASK_TIMEOUT_EVENT}, target: <state>)`, task.at);
  }
  const timer = state.transitions.find((transition) => transition.after !== undefined);
  if (timed && timer !== undefined) {
    report(`${state.label} has both a task timeout or heartbeat and a timer transition; keep one: the task's timeout is the state's timer`, timer.after?.at);
  }
  for (const transition of state.transitions) {
    if (transition.local) report(`${transition.label} cannot be local: true; a task's report arrives as a message of its own`, transition.at);
  }
  if (!state.transitions.some((transition) => transition.event !== undefined && transition.event.value !== TASK_TIMEOUT_EVENT)) {
    report(`${state.label} runs a task but has no transition for it to report; add one (- event: done, target: <state>)`, task.at);
  }
}

/**
 * The `migrate:` entries: each names an earlier version (not this one's own label, and not one another
 * entry names too) and maps old states to states of this machine.
 */
function checkMigrations(
  machine: DraftMachine,
  names: readonly string[],
  report: (message: string, at: SourceLocation | undefined) => void,
): void {
  const label = machine.versionLabel?.value;
  const froms = new Map<string, SourceLocation | undefined>();
  for (const migration of machine.migrations) {
    const from = migration.from;
    if (from !== undefined && from.value === label) {
      report(`${migration.label} names this machine's own version label; from: names an earlier version (its hash or label)`, from.at);
    } else if (from !== undefined && froms.has(from.value)) {
      report(`${migration.label} repeats an earlier entry from "${from.value}"${seeAlso(froms.get(from.value))}; merge the two entries`, from.at);
    } else if (from !== undefined) {
      froms.set(from.value, from.at);
    }
    if (machine.states === undefined) continue;
    for (const { from: old, to } of migration.states) {
      if (names.includes(to.value)) continue;
      report(`unknown target state "${to.value}" for state "${old.value}" in ${migration.label}; ${hint(to.value, names, "states")}`, to.at);
    }
  }
}

/** The states reachable from `roots` by transitions (timer transitions included). */
function reachable(states: ReadonlyMap<string, DraftState>, roots: readonly string[]): Set<string> {
  const seen = new Set(roots);
  const pending = [...roots];
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
