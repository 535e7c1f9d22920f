// The Switchyard dashboard: a small page over the JSON API of `switchyard dashboard`. No framework,
// no build step, no network beyond its own server. Routes live in the address's hash:
//   #/machines                    every machine's diagram with live counts per state
//   #/machines/<name>?version=V   one machine
//   #/instances?machine=&status=&state=&version=&prefix=   the list, newest first, live
//   #/instances/<id>              one instance: diagram, path, timeline, context diffs, actions
//   #/dead-letters                dead letters with a redrive button
// Text from the server is always set as text (never parsed as HTML).

const SVG = "http://www.w3.org/2000/svg";
const STATUSES = ["running", "waiting", "paused", "completed", "failed", "aborted"];
const ACTIVE = ["running", "waiting", "paused"];

let config = { readOnly: true, refreshMs: 2000 };
/** The current view's refresh; replaced on every navigation. */
let refresh = null;
let timer = null;
/** Bumped on every navigation so a late answer of the previous view is dropped. */
let generation = 0;

// ---------------------------------------------------------------------------------------------
// Small helpers

/** An element: h("a", {href: "#/"}, "text", child, ...). `on*` attributes become listeners. */
function h(tag, attrs = {}, ...children) {
  const element = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value === undefined || value === null || value === false) continue;
    if (key.startsWith("on")) element.addEventListener(key.slice(2), value);
    else if (key === "class") element.className = value;
    else element.setAttribute(key, value === true ? "" : String(value));
  }
  append(element, children);
  return element;
}

function s(tag, attrs = {}, ...children) {
  const element = document.createElementNS(SVG, tag);
  for (const [key, value] of Object.entries(attrs)) if (value !== undefined && value !== null) element.setAttribute(key, String(value));
  append(element, children);
  return element;
}

function append(element, children) {
  for (const child of children.flat(Number.POSITIVE_INFINITY)) {
    if (child === undefined || child === null || child === false) continue;
    element.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
}

async function api(path, options = {}) {
  const response = await fetch(`/api/${path}`, {
    ...options,
    headers: options.body === undefined ? {} : { "content-type": "application/json" },
    credentials: "same-origin",
  });
  const text = await response.text();
  let body;
  try {
    body = JSON.parse(text);
  } catch {
    body = { message: text.trim() };
  }
  if (!response.ok) throw new Error(body.message ?? `${response.status} ${response.statusText}`);
  return body;
}

const post = (path, body = {}) => api(path, { method: "POST", body: JSON.stringify(body) });
const enc = encodeURIComponent;

function when(iso) {
  if (iso === undefined || iso === null) return "";
  const date = typeof iso === "number" ? new Date(iso) : new Date(iso);
  return date.toISOString().replace("T", " ").replace("Z", "");
}

function ago(iso) {
  const ms = Date.now() - (typeof iso === "number" ? iso : Date.parse(iso));
  if (ms < 1000) return "now";
  if (ms < 60_000) return `${Math.round(ms / 1000)}s ago`;
  if (ms < 3_600_000) return `${Math.round(ms / 60_000)}m ago`;
  if (ms < 86_400_000) return `${Math.round(ms / 3_600_000)}h ago`;
  return `${Math.round(ms / 86_400_000)}d ago`;
}

function duration(ms) {
  if (ms === undefined || ms === null || Number.isNaN(ms)) return "";
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)} s`;
  if (ms < 3_600_000) return `${(ms / 60_000).toFixed(1)} min`;
  return `${(ms / 3_600_000).toFixed(1)} h`;
}

function badge(status) {
  return h("span", { class: `badge ${status}`, "data-status": status }, status);
}

function toast(message, kind = "ok") {
  const element = document.getElementById("toast");
  element.textContent = message;
  element.className = `toast show ${kind}`;
  clearTimeout(toast.timer);
  toast.timer = setTimeout(() => (element.className = "toast"), kind === "error" ? 8000 : 3000);
}

function parseHash() {
  const hash = location.hash.replace(/^#/, "") || "/machines";
  const [path, query = ""] = hash.split("?");
  return { parts: path.split("/").filter(Boolean).map(decodeURIComponent), query: new URLSearchParams(query) };
}

// ---------------------------------------------------------------------------------------------
// Confirmation dialogs: every action asks first, with its inputs.

/**
 * Ask before an action. `fields`: [{name, label, type: "text" | "textarea" | "select", options, value}].
 * Resolves to the field values, or null when cancelled.
 */
function confirmAction(title, text, fields = [], confirmLabel = "Confirm") {
  return new Promise((resolve) => {
    const inputs = {};
    const dialog = h(
      "dialog",
      { class: "confirm", "data-action": title },
      h("h3", {}, title),
      h("p", {}, text),
      fields.map((field) => {
        let input;
        if (field.type === "select") input = h("select", { name: field.name }, field.options.map((o) => h("option", { value: o }, o)));
        else if (field.type === "textarea") input = h("textarea", { name: field.name, rows: 4, placeholder: field.placeholder ?? "" });
        else input = h("input", { name: field.name, type: "text", placeholder: field.placeholder ?? "" });
        if (field.value !== undefined) input.value = field.value;
        inputs[field.name] = input;
        return h("label", {}, h("span", {}, field.label), input);
      }),
      h(
        "div",
        { class: "buttons" },
        h("button", { type: "button", class: "cancel", onclick: () => close(null) }, "Cancel"),
        h(
          "button",
          {
            type: "button",
            class: "danger confirm-button",
            onclick: () => close(Object.fromEntries(Object.entries(inputs).map(([name, input]) => [name, input.value]))),
          },
          confirmLabel,
        ),
      ),
    );
    function close(value) {
      dialog.close();
      dialog.remove();
      resolve(value);
    }
    dialog.addEventListener("cancel", () => close(null));
    document.body.append(dialog);
    dialog.showModal();
  });
}

/** Run an action after its confirmation; toast the outcome and refresh the view. */
async function act(title, text, fields, run) {
  const values = await confirmAction(title, text, fields);
  if (values === null) return;
  try {
    const result = await run(values);
    toast(`${title}: done${result ? ` (${result})` : ""}`);
  } catch (error) {
    toast(`${title}: ${error.message}`, "error");
  }
  await refresh?.();
}

// ---------------------------------------------------------------------------------------------
// The diagram: states and transitions as the server laid them out, drawn as SVG.

/**
 * options: counts {state: {status: n}}, metrics {state: {processed, errors}}, current (state name),
 * path {edges, visits}, onState(name).
 */
function diagram(layout, options = {}) {
  const pad = 16;
  const width = layout.width + pad * 2;
  const height = layout.height + pad * 2 + 14;
  const svg = s("svg", { class: "diagram", viewBox: `${-pad} ${-pad} ${width} ${height}`, width, height, role: "img", "aria-label": `diagram of ${layout.machine}` });
  svg.append(
    s(
      "defs",
      {},
      s("marker", { id: "arrow", viewBox: "0 0 10 10", refX: 9, refY: 5, markerWidth: 9, markerHeight: 9, markerUnits: "userSpaceOnUse", orient: "auto-start-reverse" }, s("path", { d: "M0,0 L10,5 L0,10 z", class: "arrowhead" })),
      s("marker", { id: "arrow-taken", viewBox: "0 0 10 10", refX: 9, refY: 5, markerWidth: 11, markerHeight: 11, markerUnits: "userSpaceOnUse", orient: "auto-start-reverse" }, s("path", { d: "M0,0 L10,5 L0,10 z", class: "arrowhead taken" })),
    ),
  );
  const maxActive = Math.max(1, ...Object.values(options.counts ?? {}).map((c) => ACTIVE.reduce((sum, k) => sum + (c[k] ?? 0), 0)));
  const taken = new Map();
  for (const edge of options.path?.edges ?? []) {
    const key = `${edge.from}\u0000${edge.to}\u0000${edge.event === "pseudo_timer" ? "" : edge.event}`;
    taken.set(key, (taken.get(key) ?? 0) + edge.count);
  }
  for (const edge of layout.edges) {
    const count = taken.get(`${edge.from}\u0000${edge.to}\u0000${edge.kind === "timer" ? "" : edge.event}`);
    const d = edge.points.map((p, i) => `${i === 0 ? "M" : "L"}${p.x},${p.y}`).join(" ");
    const group = s("g", { class: `edge ${edge.kind}${count ? " taken" : ""}`, "data-from": edge.from, "data-to": edge.to, "data-event": edge.event ?? "" });
    group.append(s("path", { d, "marker-end": count ? "url(#arrow-taken)" : "url(#arrow)" }));
    group.append(s("text", { x: edge.labelX, y: edge.labelY + 4, "text-anchor": "middle", class: "edge-label" }, count ? `${edge.label} ×${count}` : edge.label));
    svg.append(group);
  }
  // Moves the instance made that are not transitions of the machine (an abort into on_abort): a dotted line.
  const drawn = new Set(layout.edges.map((e) => `${e.from}\u0000${e.to}\u0000${e.kind === "timer" ? "" : e.event}`));
  const at = new Map(layout.nodes.map((n) => [n.name, n]));
  for (const [key, count] of taken) {
    const [from, to, event] = key.split("\u0000");
    if (drawn.has(key) || !at.has(from) || !at.has(to) || from === to) continue;
    const a = at.get(from);
    const b = at.get(to);
    const label = event === "pseudo_abort" ? "abort" : event;
    const end = edgePoint(b, a);
    const group = s("g", { class: "edge taken extra", "data-from": from, "data-to": to, "data-event": event });
    const startPoint = edgePoint(a, b);
    group.append(s("path", { d: `M${startPoint.x},${startPoint.y} L${end.x},${end.y}`, "marker-end": "url(#arrow-taken)" }));
    group.append(s("text", { x: (startPoint.x + end.x) / 2, y: (startPoint.y + end.y) / 2 - 4, "text-anchor": "middle", class: "edge-label" }, `${label} ×${count}`));
    svg.append(group);
  }
  for (const node of layout.nodes) {
    const counts = options.counts?.[node.name];
    const active = counts ? ACTIVE.reduce((sum, k) => sum + (counts[k] ?? 0), 0) : 0;
    const failed = counts?.failed ?? 0;
    const heat = active === 0 ? 0 : 0.15 + 0.85 * (active / maxActive);
    const classes = ["state"];
    if (node.final) classes.push("final");
    if (node.initial) classes.push("initial");
    if (node.onAbort) classes.push("on-abort");
    if (failed > 0) classes.push("has-failed");
    if (options.current === node.name) classes.push("current");
    if (options.path?.visits?.[node.name]) classes.push("visited");
    const group = s("g", { class: classes.join(" "), "data-state": node.name, tabindex: options.onState ? 0 : undefined });
    const x = node.x - node.width / 2;
    const y = node.y - node.height / 2;
    group.append(s("rect", { x, y, width: node.width, height: node.height, rx: 8, class: "box" }));
    if (heat > 0) group.append(s("rect", { x, y, width: node.width, height: node.height, rx: 8, class: "heat", "fill-opacity": heat.toFixed(2) }));
    if (node.final) group.append(s("rect", { x: x + 3, y: y + 3, width: node.width - 6, height: node.height - 6, rx: 6, class: "inner" }));
    if (node.initial) {
      group.append(s("circle", { cx: x - 14, cy: node.y, r: 5, class: "start" }));
      group.append(s("path", { d: `M${x - 9},${node.y} L${x - 1},${node.y}`, "marker-end": "url(#arrow)", class: "start-line" }));
    }
    const name = s("text", { x: node.x, y: node.y + 4, "text-anchor": "middle", class: "state-name" }, node.name);
    group.append(name);
    // The second line: where work is (active and failed instances), or how often a path came by.
    const line = [];
    if (counts) for (const status of [...ACTIVE, "failed"]) if (counts[status]) line.push(`${counts[status]} ${status}`);
    const visits = options.path?.visits?.[node.name];
    if (visits > 1) line.push(`visited ×${visits}`);
    let text = line.join(" · ");
    if (text.length * 6.2 > node.width - 8) text = `${active} active${failed ? ` · ${failed} failed` : ""}`;
    if (text) name.setAttribute("y", String(node.y - 4));
    if (text) group.append(s("text", { x: node.x, y: node.y + 13, "text-anchor": "middle", class: `state-note${failed ? " failed" : ""}` }, text));
    const notes = counts ? STATUSES.filter((k) => counts[k]).map((k) => `${counts[k]} ${k}`) : [];
    const work = options.metrics?.[node.name];
    if (work?.processed) notes.push(`${work.processed} processed in the last hour, p50 ${duration(work.p50)}, p99 ${duration(work.p99)}`);
    for (const [counter, value] of Object.entries(work?.errors ?? {})) notes.push(`${value} ${counter}`);
    if (options.onState) {
      group.addEventListener("click", () => options.onState(node.name));
      group.addEventListener("keydown", (event) => event.key === "Enter" && options.onState(node.name));
    }
    group.append(s("title", {}, [node.name, node.onAbort ? "(on abort: the compensation state)" : "", ...notes].filter(Boolean).join("\n")));
    svg.append(group);
  }
  return h("div", { class: "diagram-frame" }, svg);
}

/** Where the line from the centre of `box` towards `toward` leaves the box. */
function edgePoint(box, toward) {
  const dx = toward.x - box.x;
  const dy = toward.y - box.y;
  const scale = 1 / Math.max(Math.abs(dx) / (box.width / 2), Math.abs(dy) / (box.height / 2), 1e-9);
  return { x: box.x + dx * scale, y: box.y + dy * scale };
}

// ---------------------------------------------------------------------------------------------
// Views. Each returns {node, refresh?}; refresh re-reads and re-renders in place.

async function machinesView() {
  const root = h("section", { class: "machines" }, h("h1", {}, "Machines"));
  const body = h("div", {});
  root.append(body);
  async function load() {
    const { machines } = await api("machines");
    const views = await Promise.all(machines.map((m) => api(`machines/${enc(m.name)}`).catch((error) => ({ name: m.name, problem: error.message }))));
    body.replaceChildren(
      machines.length === 0 ? h("p", { class: "muted" }, "No machines yet: pass -d fsm.yaml, deploy one (switchyard deploy), or start an instance.") : "",
      ...machines.map((machine, index) => machineCard(machine, views[index])),
    );
  }
  await load();
  return { node: root, refresh: load };
}

function statusLinks(machine, counts) {
  return h(
    "div",
    { class: "counts" },
    STATUSES.map((status) =>
      h("a", { href: `#/instances?machine=${enc(machine)}&status=${status}`, class: `count ${status}`, "data-status": status }, h("b", {}, String(counts?.[status] ?? 0)), ` ${status}`),
    ),
  );
}

function machineCard(machine, view) {
  const versions = machine.versions.map((v) => `${v.label ? `${v.label} ` : ""}${v.version}${v.loaded ? " (loaded)" : ""}`).join(", ");
  const header = h(
    "div",
    { class: "card-head" },
    h("h2", {}, h("a", { href: `#/machines/${enc(machine.name)}` }, machine.name)),
    h("span", { class: "muted small" }, versions ? `versions: ${versions}` : ""),
    config.readOnly ? "" : machineActions(machine.name, view?.diagram),
  );
  const card = h("article", { class: "card machine", "data-machine": machine.name }, header, statusLinks(machine.name, machine.counts));
  if (view?.problem) card.append(h("p", { class: "error" }, view.problem));
  else if (view?.diagram) {
    card.append(
      diagram(view.diagram, {
        counts: view.states,
        metrics: view.metrics?.states,
        onState: (state) => (location.hash = `#/instances?machine=${enc(machine.name)}&state=${enc(state)}`),
      }),
    );
    card.append(statesTable(machine.name, view));
    const others = Object.entries(view.elsewhere ?? {});
    if (others.length > 0) card.append(h("p", { class: "muted small" }, `In states of other versions: ${others.map(([state, c]) => `${state} (${STATUSES.filter((k) => c[k]).map((k) => `${c[k]} ${k}`).join(", ")})`).join("; ")}`));
    if (view.metrics?.errorsUnavailable) card.append(h("p", { class: "muted small" }, `Error counters per state: ${view.metrics.errorsUnavailable}`));
    if (view.capped) card.append(h("p", { class: "muted small" }, `Counts from the ${view.capped} most recently started instances.`));
  }
  return card;
}

/** Per state: instances by status (each a link to the list), and the last hour's work and errors. */
function statesTable(machine, view) {
  const work = view.metrics?.states ?? {};
  const cell = (state, status, n) => h("td", { class: "num" }, n ? h("a", { href: `#/instances?machine=${enc(machine)}&state=${enc(state)}&status=${status}` }, String(n)) : "");
  return h(
    "table",
    { class: "states" },
    h("thead", {}, h("tr", {}, ["state", ...STATUSES, "processed (1h)", "p50", "p99", "errors (1h)"].map((t) => h("th", {}, t)))),
    h(
      "tbody",
      {},
      view.diagram.nodes.map((node) => {
        const counts = view.states?.[node.name] ?? {};
        const w = work[node.name];
        return h(
          "tr",
          { "data-state": node.name },
          h("td", {}, node.name),
          STATUSES.map((status) => cell(node.name, status, counts[status])),
          h("td", { class: "num" }, w?.processed || ""),
          h("td", { class: "num" }, w?.processed ? duration(w.p50) : ""),
          h("td", { class: "num" }, w?.processed ? duration(w.p99) : ""),
          h(
            "td",
            { class: "errors" },
            Object.entries(w?.errors ?? {})
              .map(([k, v]) => `${v} ${k}`)
              .join(", "),
          ),
        );
      }),
    ),
  );
}

function machineActions(name, layout) {
  const states = ["(every state)", ...(layout?.nodes ?? []).map((n) => n.name)];
  const stateField = [{ name: "state", label: "At state", type: "select", options: states }];
  const pick = (values) => (values.state === "(every state)" ? undefined : values.state);
  return h(
    "span",
    { class: "actions" },
    h(
      "button",
      {
        type: "button",
        "data-act": "pause-machine",
        onclick: () =>
          act(`Pause ${name}`, "Hold the next message of every instance of this machine (at one state, or everywhere) until resumed.", stateField, async (v) => {
            await post(`machines/${enc(name)}/pause`, { state: pick(v) });
          }),
      },
      "Pause…",
    ),
    h(
      "button",
      {
        type: "button",
        "data-act": "resume-machine",
        onclick: () =>
          act(`Resume ${name}`, "Lift the pause and send the held messages again.", stateField, async (v) => {
            const result = await post(`machines/${enc(name)}/resume`, { state: pick(v) });
            return `${result.resent} resent`;
          }),
      },
      "Resume…",
    ),
  );
}

async function machineView(name, query) {
  const version = query.get("version");
  const root = h("section", {});
  async function load() {
    const { machines } = await api("machines");
    const machine = machines.find((m) => m.name === name) ?? { name, versions: [], counts: {} };
    const view = await api(`machines/${enc(name)}${version ? `?version=${enc(version)}` : ""}`);
    const picker = h(
      "select",
      { "aria-label": "version", onchange: (event) => (location.hash = `#/machines/${enc(name)}${event.target.value ? `?version=${enc(event.target.value)}` : ""}`) },
      h("option", { value: "" }, "every version"),
      machine.versions.map((v) => h("option", { value: v.version, selected: v.version === version }, `${v.label ? `${v.label} · ` : ""}${v.version}`)),
    );
    root.replaceChildren(h("p", { class: "crumbs" }, h("a", { href: "#/machines" }, "Machines"), " / ", name), h("div", { class: "toolbar" }, "Counts of ", picker), machineCard(machine, view));
  }
  await load();
  return { node: root, refresh: load };
}

async function instancesView(query) {
  const filters = ["machine", "status", "state", "version", "prefix"];
  const values = Object.fromEntries(filters.map((f) => [f, query.get(f) ?? ""]));
  const form = h("form", { class: "filters", onsubmit: (event) => event.preventDefault() });
  const inputs = {};
  for (const name of filters) {
    const input =
      name === "status"
        ? h("select", { name }, h("option", { value: "" }, "any status"), STATUSES.map((st) => h("option", { value: st, selected: st === values.status }, st)))
        : h("input", { name, type: "search", value: values[name], placeholder: name === "prefix" ? "correlation id starts with" : name === "version" ? "hash or unversioned" : name });
    inputs[name] = input;
    form.append(h("label", {}, h("span", {}, name === "prefix" ? "id prefix" : name), input));
  }
  const apply = () => {
    const params = new URLSearchParams();
    for (const name of filters) if (inputs[name].value.trim() !== "") params.set(name, inputs[name].value.trim());
    location.hash = `#/instances${params.size > 0 ? `?${params}` : ""}`;
  };
  form.addEventListener("change", apply);
  form.addEventListener("submit", apply);
  const table = h("table", { class: "instances" });
  const pager = h("div", { class: "pager" });
  const root = h("section", {}, h("h1", {}, "Instances"), form, table, pager);
  /** The cursors of the pages shown: live refresh re-reads them all, so a page never jumps. */
  const cursors = [undefined];

  const params = (after) => {
    const p = new URLSearchParams();
    for (const name of filters) if (values[name]) p.set(name, values[name]);
    if (after) p.set("after", after);
    return p;
  };

  async function load() {
    const pages = [];
    for (const after of cursors) pages.push(await api(`instances?${params(after)}`));
    const instances = pages.flatMap((p) => p.instances);
    const next = pages[pages.length - 1].next;
    table.replaceChildren(
      h("thead", {}, h("tr", {}, ["correlation id", "machine", "version", "status", "state", "steps", "updated", "reason"].map((t) => h("th", {}, t)))),
      h(
        "tbody",
        {},
        instances.length === 0 ? h("tr", {}, h("td", { colspan: 8, class: "muted" }, "No instances match.")) : "",
        instances.map((r) =>
          h(
            "tr",
            { "data-id": r.correlationId },
            h("td", {}, h("a", { href: `#/instances/${enc(r.correlationId)}` }, r.correlationId)),
            h("td", {}, r.machine),
            h("td", { class: "mono" }, r.version ?? "–"),
            h("td", {}, badge(r.status)),
            h("td", {}, r.state),
            h("td", { class: "num" }, r.steps ?? ""),
            h("td", { title: when(r.updatedAt) }, ago(r.updatedAt)),
            h("td", { class: "reason" }, r.reason ?? r.abort?.reason ?? ""),
          ),
        ),
      ),
    );
    pager.replaceChildren(
      h("span", { class: "muted" }, `${instances.length} shown, newest first`),
      next
        ? h(
            "button",
            {
              type: "button",
              "data-act": "more",
              onclick: async () => {
                cursors.push(next);
                await load();
              },
            },
            "More",
          )
        : "",
    );
  }
  await load();
  return { node: root, refresh: load };
}

/** The keys that differ between two JSON values, as `+ key: value`, `- key`, `~ key: old → new` lines. */
function diff(before, after, path = "") {
  const lines = [];
  const isObject = (v) => v !== null && typeof v === "object" && !Array.isArray(v);
  if (isObject(before) && isObject(after)) {
    for (const key of new Set([...Object.keys(before), ...Object.keys(after)])) {
      const at = path ? `${path}.${key}` : key;
      if (!(key in before)) lines.push(["add", `+ ${at}: ${JSON.stringify(after[key])}`]);
      else if (!(key in after)) lines.push(["remove", `- ${at}`]);
      else lines.push(...diff(before[key], after[key], at));
    }
    return lines;
  }
  if (JSON.stringify(before) !== JSON.stringify(after)) lines.push(["change", `~ ${path || "(context)"}: ${JSON.stringify(before)} → ${JSON.stringify(after)}`]);
  return lines;
}

async function instanceView(id) {
  const root = h("section", { class: "instance", "data-id": id });
  async function load() {
    const detail = await api(`instances/${enc(id)}`);
    const r = detail.instance;
    const facts = h(
      "dl",
      { class: "facts" },
      [
        ["status", badge(r.status)],
        ["state", h("span", { "data-field": "state" }, r.state)],
        ["machine", h("a", { href: `#/machines/${enc(r.machine)}` }, r.machine)],
        ["version", h("span", { class: "mono" }, r.version ?? "unversioned")],
        ["steps", r.steps ?? 0],
        ["fence token", detail.fenceToken ?? "–"],
        ["lease", detail.leasePrimary === undefined ? "–" : detail.leasePrimary ? "primary cache" : "secondary cache"],
        ["started", when(r.startedAt)],
        ["updated", `${when(r.updatedAt)} (${ago(r.updatedAt)})`],
        r.reason ? ["reason", h("span", { class: "error" }, r.reason)] : null,
        r.abort ? ["abort", `${r.abort.reason} (asked ${when(r.abort.requestedAt)})`] : null,
        r.parked ? ["parked messages", r.parked] : null,
      ]
        .filter(Boolean)
        .map(([term, value]) => [h("dt", {}, term), h("dd", {}, value)]),
    );
    root.replaceChildren(
      h("p", { class: "crumbs" }, h("a", { href: "#/instances" }, "Instances"), " / ", h("span", { class: "mono" }, id)),
      h("div", { class: "instance-head" }, h("h1", {}, id), config.readOnly ? "" : instanceActions(r, detail.events)),
      facts,
      detail.diagram ? diagram(detail.diagram, { current: r.state, path: detail.path }) : h("p", { class: "muted" }, detail.diagramProblem ?? "No diagram."),
      h("h2", {}, "Timeline"),
      timeline(detail),
      detail.errors.length > 0 ? h("section", { class: "error-emissions" }, h("h2", {}, "Error emissions"), errorsTable(detail.errors)) : "",
      h("h2", {}, "Current user context"),
      currentContext(r.context, detail.history),
    );
  }
  await load();
  return { node: root, refresh: load };
}

/** The record's context, with what changed since the last message (the actions of the step that message started). */
function currentContext(context, history) {
  const last = history[history.length - 1];
  const changes = last === undefined ? [] : diff(last.user_context, context);
  return h(
    "div",
    { class: "current-context" },
    changes.length === 0 ? "" : [h("p", { class: "muted small" }, "Since the last message:"), h("ul", { class: "diff" }, changes.map(([kind, line]) => h("li", { class: kind }, line)))],
    h("pre", { class: "json" }, JSON.stringify(context, null, 2)),
  );
}

function instanceActions(r, events) {
  const final = ["completed", "failed", "aborted"].includes(r.status);
  const buttons = [];
  const button = (name, label, onclick) => buttons.push(h("button", { type: "button", "data-act": name, onclick }, label));
  const id = r.correlationId;
  if (!final) {
    button("abort", "Abort…", () =>
      act(`Abort ${id}`, "The instance leaves its state through the abort path (its machine's on_abort compensation, if any) and ends aborted.", [{ name: "reason", label: "Reason", placeholder: "aborted by an operator" }], async (v) => {
        const result = await post(`instances/${enc(id)}/abort`, { reason: v.reason });
        return result.via;
      }),
    );
    if (r.status === "paused") button("resume", "Resume…", () => act(`Resume ${id}`, "Send its held messages again.", [], async () => `${(await post(`instances/${enc(id)}/resume`)).resent} resent`));
    else button("pause", "Pause…", () => act(`Pause ${id}`, "Hold its next message until resumed.", [], () => post(`instances/${enc(id)}/pause`).then(() => "")));
    if (r.status === "waiting" && events.length > 0) {
      button("send", "Send event…", () =>
        act(
          `Send an event to ${id}`,
          `The events its state ${r.state} takes. Data is any JSON; actions read it as ctx.data.event_data.`,
          [
            { name: "event", label: "Event", type: "select", options: events },
            { name: "data", label: "Data (JSON, optional)", type: "textarea", placeholder: '{"approved": true}' },
          ],
          async (v) => {
            let data;
            if (v.data.trim() !== "") {
              try {
                data = JSON.parse(v.data);
              } catch {
                throw new Error("the data is not JSON");
              }
            }
            const sent = await post(`instances/${enc(id)}/events`, { event: v.event, data });
            return `step ${sent.steps}`;
          },
        ),
      );
    }
    if (r.status !== "paused") button("recover", "Recover…", () => act(`Recover ${id}`, "Send its last message again (for an instance that looks stuck).", [], async () => `${(await post(`instances/${enc(id)}/recover`)).resent.length} resent`));
  }
  if (r.status === "failed") button("redrive", "Redrive…", () => act(`Redrive ${id}`, "Run its failed step again, once its cause is fixed.", [], async () => `step ${(await post(`instances/${enc(id)}/redrive`)).steps}`));
  return h("span", { class: "actions" }, buttons);
}

function timeline(detail) {
  const messages = detail.history;
  const attempts = detail.attempts;
  const rows = [];
  let previous;
  for (const [index, m] of messages.entries()) {
    const next = messages[index + 1];
    const took = m.at !== undefined && next?.at !== undefined ? next.at - m.at : undefined;
    const first = previous === undefined;
    const changes = first ? [] : diff(previous, m.user_context);
    previous = m.user_context;
    const context = h(
      "details",
      { class: "context" },
      h("summary", {}, first ? "as started" : changes.length === 0 ? "no change" : `${changes.length} change${changes.length === 1 ? "" : "s"}`),
      h("ul", { class: "diff" }, changes.map(([kind, line]) => h("li", { class: kind }, line))),
      h("pre", { class: "json" }, JSON.stringify(m.user_context, null, 2)),
    );
    rows.push(
      h(
        "tr",
        { class: m.origin ? `origin-${m.origin}` : "" },
        h("td", { class: "num" }, m.steps),
        h("td", {}, m.current_state),
        h("td", {}, m.current_event, m.origin ? h("span", { class: "tag" }, m.origin) : "", m.migrated_from ? h("span", { class: "muted small" }, ` from ${m.migrated_from.state} @ ${m.migrated_from.version ?? "unversioned"}`) : ""),
        h("td", { class: "num" }, m.retries),
        h("td", {}, `${m.role}/${m.side}`),
        h("td", {}, m.at === undefined ? "" : when(m.at), m.due ? h("span", { class: "muted small" }, ` due ${when(m.due)}`) : ""),
        h("td", { class: "num" }, duration(took)),
        h("td", {}, context),
      ),
    );
    for (const attempt of attempts.filter((a) => a.steps === m.steps && a.retries === m.retries)) {
      rows.push(
        h(
          "tr",
          { class: `attempt ${attempt.outcome}` },
          h("td", {}, ""),
          h("td", {}, attempt.state ?? attempt.current_state),
          h("td", { colspan: 4 }, h("span", { class: "tag error" }, attempt.outcome), ` ${attempt.where ?? ""} ${attempt.error_name}: ${attempt.error}`),
          h("td", {}, when(attempt.at)),
          h("td", {}, ""),
        ),
      );
    }
  }
  return h(
    "table",
    { class: "timeline" },
    h("thead", {}, h("tr", {}, ["step", "state", "event", "retries", "role/side", "sent", "until next", "user context"].map((t) => h("th", {}, t)))),
    h("tbody", {}, rows),
  );
}

function errorsTable(errors) {
  return h(
    "table",
    { class: "errors" },
    h("thead", {}, h("tr", {}, ["state", "event", "counters"].map((t) => h("th", {}, t)))),
    h(
      "tbody",
      {},
      errors.map((e) =>
        h(
          "tr",
          {},
          h("td", {}, e.dimensions.current_state),
          h("td", {}, e.dimensions.current_event),
          h(
            "td",
            {},
            Object.entries(e.counters)
              .map(([k, v]) => `${k}: ${v}`)
              .join(", "),
          ),
        ),
      ),
    ),
  );
}

async function deadLettersView() {
  const root = h("section", {}, h("h1", {}, "Dead letters"));
  const body = h("div", {});
  root.append(body);
  async function load() {
    const { deadLetters } = await api("dead-letters");
    body.replaceChildren(
      deadLetters.length === 0
        ? h("p", { class: "muted" }, "No dead letters.")
        : h(
            "table",
            { class: "dead-letters" },
            h("thead", {}, h("tr", {}, ["id", "instance", "state / event", "reason", "receives", "dead at", "source", ""].map((t) => h("th", {}, t)))),
            h(
              "tbody",
              {},
              deadLetters.map((letter) => {
                let system = {};
                try {
                  system = JSON.parse(letter.body).system_context ?? {};
                } catch {
                  // A body that is not a message is shown as it is.
                }
                return h(
                  "tr",
                  { "data-letter": letter.id },
                  h("td", { class: "num" }, letter.id),
                  h("td", {}, system.correlation_id ? h("a", { href: `#/instances/${enc(system.correlation_id)}` }, system.correlation_id) : "–"),
                  h("td", {}, system.machine_name ? `${system.machine_name}: ${system.current_state} / ${system.current_event}` : h("code", {}, letter.body.slice(0, 80))),
                  h("td", { class: "reason" }, letter.reason),
                  h("td", { class: "num" }, letter.receiveCount),
                  h("td", {}, when(letter.deadAt)),
                  h("td", { class: "mono small" }, letter.sourceUri),
                  h(
                    "td",
                    {},
                    config.readOnly
                      ? ""
                      : h(
                          "button",
                          {
                            type: "button",
                            "data-act": "redrive-letter",
                            onclick: () =>
                              act(`Redrive dead letter ${letter.id}`, "Send it again (once its cause is fixed); it is removed once sent.", [], async () => {
                                const { results } = await post(`dead-letters/${letter.id}/redrive`, { sourceUri: letter.sourceUri });
                                const failed = results.find((r) => !r.ok);
                                if (failed) throw new Error(failed.error);
                                return `${results.length} sent`;
                              }),
                          },
                          "Redrive…",
                        ),
                  ),
                );
              }),
            ),
          ),
    );
  }
  await load();
  return { node: root, refresh: load };
}

// ---------------------------------------------------------------------------------------------
// Routing and the live loop.

async function route() {
  const mine = ++generation;
  const { parts, query } = parseHash();
  const section = parts[0] ?? "machines";
  for (const link of document.querySelectorAll("nav a")) link.classList.toggle("active", link.dataset.nav === section);
  const main = document.getElementById("main");
  let view;
  try {
    if (section === "machines" && parts[1] !== undefined) view = await machineView(parts[1], query);
    else if (section === "machines") view = await machinesView();
    else if (section === "instances" && parts[1] !== undefined) view = await instanceView(parts[1]);
    else if (section === "instances") view = await instancesView(query);
    else if (section === "dead-letters") view = await deadLettersView();
    else view = { node: h("p", { class: "error" }, `No page ${location.hash}.`) };
  } catch (error) {
    view = { node: h("p", { class: "error" }, error.message) };
  }
  if (mine !== generation) return;
  main.replaceChildren(view.node);
  refresh = view.refresh ?? null;
  document.body.dataset.ready = section;
}

async function tick() {
  const live = document.getElementById("live");
  if (refresh !== null && document.visibilityState === "visible" && document.querySelector("dialog[open]") === null) {
    const mine = generation;
    try {
      await refresh();
      if (mine === generation) {
        live.className = "live on";
        live.title = `refreshed ${new Date().toLocaleTimeString()}`;
        document.body.dataset.refreshed = String(Date.now());
      }
    } catch (error) {
      live.className = "live off";
      live.title = `refresh failed: ${error.message}`;
    }
  }
  timer = setTimeout(tick, config.refreshMs);
}

async function start() {
  try {
    config = await api("config");
  } catch (error) {
    document.getElementById("main").replaceChildren(h("p", { class: "error" }, error.message));
    return;
  }
  document.getElementById("mode").textContent = config.readOnly ? "read-only" : "";
  window.addEventListener("hashchange", route);
  await route();
  clearTimeout(timer);
  timer = setTimeout(tick, config.refreshMs);
}

start();
