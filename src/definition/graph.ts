/** Diagrams of a machine: Graphviz DOT and Mermaid `stateDiagram-v2`. Output is deterministic. */
import type { Action } from "../core/action.js";
import type { MachineDefinition, TransitionDefinition } from "./types.js";

/**
 * The machine as a Graphviz DOT digraph: a point for the start, final states drawn with a double
 * border, edges labelled `event / action` (a timer `after 48h / action`), local and timer transitions
 * dashed, and the `on_abort` state pointed at by a dotted edge from an "on abort" note.
 *
 * @example
 * ```ts
 * writeFileSync("order.dot", toDot(definitions.get("order"))); // dot -Tsvg order.dot > order.svg
 * ```
 */
export function toDot(machine: MachineDefinition): string {
  const id = (name: string) => JSON.stringify(name);
  const lines = [
    `digraph ${id(machine.name)} {`,
    "  rankdir=LR;",
    "  node [shape=box, style=rounded];",
    '  "__start__" [shape=point, width=0.2];',
  ];
  for (const state of machine.states.values()) {
    lines.push(`  ${id(state.name)}${state.final ? " [peripheries=2]" : ""};`);
  }
  if (machine.onAbort !== undefined) lines.push('  "__on_abort__" [shape=note, label="on abort"];');
  lines.push(`  "__start__" -> ${id(machine.initialState)};`);
  if (machine.onAbort !== undefined) lines.push(`  "__on_abort__" -> ${id(machine.onAbort)} [style=dotted];`);
  for (const state of machine.states.values()) {
    for (const transition of state.transitions.values()) {
      if (transition.ofTask) continue; // the task_timeout edge already draws a task's timeout
      const style = transition.local || transition.afterSeconds !== undefined ? ", style=dashed" : "";
      lines.push(`  ${id(state.name)} -> ${id(transition.target)} [label=${id(label(transition))}${style}];`);
    }
  }
  lines.push("}");
  return `${lines.join("\n")}\n`;
}

/**
 * The machine as a Mermaid `stateDiagram-v2`: `[*] --> initial`, `final --> [*]`, transitions
 * labelled `event / action` (a timer `after 48h / action`), local transitions marked `(local)`, and
 * an "on abort" note on the `on_abort` state. States whose names are not plain identifiers are
 * declared with an alias.
 */
export function toMermaid(machine: MachineDefinition): string {
  const ids = new Map<string, string>();
  const lines = ["stateDiagram-v2"];
  for (const name of machine.states.keys()) {
    if (/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) {
      ids.set(name, name);
    } else {
      ids.set(name, `__s${ids.size}`);
      lines.push(`  state ${JSON.stringify(name)} as __s${ids.size - 1}`);
    }
  }
  const id = (name: string) => ids.get(name) ?? name;
  lines.push(`  [*] --> ${id(machine.initialState)}`);
  for (const state of machine.states.values()) {
    for (const transition of state.transitions.values()) {
      if (transition.ofTask) continue; // the task_timeout edge already draws a task's timeout
      const local = transition.local ? " (local)" : "";
      lines.push(`  ${id(state.name)} --> ${id(transition.target)} : ${label(transition)}${local}`);
    }
    if (state.final) lines.push(`  ${id(state.name)} --> [*]`);
  }
  if (machine.onAbort !== undefined) lines.push(`  note left of ${id(machine.onAbort)} : on abort`);
  return `${lines.join("\n")}\n`;
}

function label(transition: TransitionDefinition): string {
  const trigger = transition.afterSeconds === undefined ? transition.event : `after ${transition.after ?? `${transition.afterSeconds}s`}`;
  return transition.action === undefined ? trigger : `${trigger} / ${shortName(transition.action)}`;
}

/** `Log` for `./actions.ts#Log` or `pkg.actions.Log`; a registered name as is. */
function shortName(action: Action): string {
  return action.name.slice(Math.max(action.name.lastIndexOf("#"), action.name.lastIndexOf(".")) + 1);
}
