/** Diagrams of a machine: Graphviz DOT and Mermaid `stateDiagram-v2`. Output is deterministic. */
import type { Action } from "../core/action.js";
import type { MachineDefinition, TransitionDefinition } from "./types.js";

/**
 * The machine as a Graphviz DOT digraph: a point for the start, final states drawn with a double
 * border, edges labelled `event / action`, local transitions dashed.
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
  lines.push(`  "__start__" -> ${id(machine.initialState)};`);
  for (const state of machine.states.values()) {
    for (const transition of state.transitions.values()) {
      const style = transition.local ? ", style=dashed" : "";
      lines.push(`  ${id(state.name)} -> ${id(transition.target)} [label=${id(label(transition))}${style}];`);
    }
  }
  lines.push("}");
  return `${lines.join("\n")}\n`;
}

/**
 * The machine as a Mermaid `stateDiagram-v2`: `[*] --> initial`, `final --> [*]`, transitions
 * labelled `event / action`, local transitions marked `(local)`. States whose names are not plain
 * identifiers are declared with an alias.
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
      const local = transition.local ? " (local)" : "";
      lines.push(`  ${id(state.name)} --> ${id(transition.target)} : ${label(transition)}${local}`);
    }
    if (state.final) lines.push(`  ${id(state.name)} --> [*]`);
  }
  return `${lines.join("\n")}\n`;
}

function label(transition: TransitionDefinition): string {
  return transition.action === undefined ? transition.event : `${transition.event} / ${shortName(transition.action)}`;
}

/** `Log` for `./actions.ts#Log` or `pkg.actions.Log`; a registered name as is. */
function shortName(action: Action): string {
  return action.name.slice(Math.max(action.name.lastIndexOf("#"), action.name.lastIndexOf(".")) + 1);
}
