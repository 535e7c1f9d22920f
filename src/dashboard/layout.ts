/**
 * A machine's diagram for the dashboard: states and transitions of a {@link MachineDocument} laid
 * out left to right by dagre (bundled with the package, run here on the server), as plain JSON the
 * page draws as SVG. Deterministic for a document, so it is computed once per version and cached.
 */
import type { MachineDocument } from "../core/machine.js";

/** A state's box: its centre, size and marks. */
export interface DiagramNode {
  readonly name: string;
  readonly x: number;
  readonly y: number;
  readonly width: number;
  readonly height: number;
  readonly initial: boolean;
  readonly final: boolean;
  /** The machine's `on_abort` (compensation) state. */
  readonly onAbort: boolean;
  /** The events a waiting instance in this state can be sent (its event transitions, not timers). */
  readonly events: readonly string[];
}

/** A transition's line, its label and where the label goes. */
export interface DiagramEdge {
  readonly from: string;
  readonly to: string;
  /** The event, or `after 48h` for a timer. */
  readonly label: string;
  readonly event?: string | undefined;
  readonly kind: "event" | "timer" | "local";
  readonly points: ReadonlyArray<{ readonly x: number; readonly y: number }>;
  readonly labelX: number;
  readonly labelY: number;
}

export interface Diagram {
  readonly machine: string;
  readonly width: number;
  readonly height: number;
  readonly nodes: readonly DiagramNode[];
  readonly edges: readonly DiagramEdge[];
}

/** Width of a character of the page's diagram font (12–13 px sans-serif), rounded up. */
const CHAR_WIDTH = 7.5;
/** Two lines: the state's name, and its counts (or the visits of an instance's path). */
const NODE_HEIGHT = 48;
const LABEL_HEIGHT = 14;

/** Lay out `document` (the graph library is loaded on first use: commands that draw nothing never load it). */
export async function layoutMachine(document: MachineDocument): Promise<Diagram> {
  const { default: dagre } = await import("@dagrejs/dagre");
  const graph = new dagre.graphlib.Graph({ multigraph: true });
  graph.setGraph({ rankdir: "LR", nodesep: 28, ranksep: 70, edgesep: 14, marginx: 30, marginy: 12 });
  graph.setDefaultEdgeLabel(() => ({}));
  for (const state of document.states) {
    graph.setNode(state.name, { width: Math.max(130, Math.ceil(state.name.length * CHAR_WIDTH) + 28), height: NODE_HEIGHT });
  }
  const edges: Array<{ from: string; to: string; label: string; event?: string | undefined; kind: DiagramEdge["kind"]; key: string }> = [];
  for (const state of document.states) {
    for (const [index, transition] of (state.transitions ?? []).entries()) {
      const label = transition.after === undefined ? (transition.event ?? "") : `after ${transition.after}`;
      const kind = transition.after !== undefined ? "timer" : transition.local === true ? "local" : "event";
      const key = `${state.name}\u0000${index}`;
      edges.push({ from: state.name, to: transition.target, label, event: transition.event, kind, key });
      graph.setEdge(state.name, transition.target, { width: Math.ceil(label.length * 6.5) + 8, height: LABEL_HEIGHT, labelpos: "c" }, key);
    }
  }
  dagre.layout(graph);
  const size = graph.graph();
  return {
    machine: document.name,
    width: Math.ceil(size.width ?? 0),
    height: Math.ceil(size.height ?? 0),
    nodes: document.states.map((state) => {
      const node = graph.node(state.name);
      return {
        name: state.name,
        x: round(node.x),
        y: round(node.y),
        width: node.width,
        height: node.height,
        initial: state.initial === true,
        final: state.final === true,
        onAbort: document.on_abort === state.name,
        events: (state.transitions ?? []).flatMap((t) => (t.event === undefined ? [] : [t.event])),
      };
    }),
    edges: edges.map((edge) => {
      const laid = graph.edge({ v: edge.from, w: edge.to, name: edge.key });
      return {
        from: edge.from,
        to: edge.to,
        label: edge.label,
        event: edge.event,
        kind: edge.kind,
        points: (laid.points ?? []).map((p: { x: number; y: number }) => ({ x: round(p.x), y: round(p.y) })),
        labelX: round(laid.x ?? 0),
        labelY: round(laid.y ?? 0),
      };
    }),
  };
}

const round = (n: number) => Math.round(n * 10) / 10;
