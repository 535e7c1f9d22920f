import path from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import type { ActionContext } from "../../../src/core/action.js";
import {
  ActionRegistry,
  checkAgainst,
  compileDocument,
  defineMachine,
  defineMachines,
  loadDefinitionFile,
  type MachineConfig,
  type MachineDefinition,
  type MachineDocument,
  machineVersion,
  validateDefinitionFile,
} from "../../../src/definition/index.js";
import { DefinitionErrors } from "../../../src/errors.js";

const fixtures = fileURLToPath(new URL("../../fixtures/versions/", import.meta.url));

/** The problems of a fixture as `file:line:column: message`, with paths relative to the fixtures. */
async function problemsOf(name: string): Promise<string[]> {
  const problems = await validateDefinitionFile(path.join(fixtures, name));
  return problems.map((problem) => problem.toString().replaceAll(fixtures, ""));
}

async function machineOf(file: string, name: string): Promise<MachineDefinition> {
  return (await loadDefinitionFile(path.join(fixtures, file))).get(name);
}

/** The order machine of order.yaml, as an in-code config. */
function orderConfig(): MachineConfig {
  return {
    name: "order",
    max_retries: 3,
    on_abort: "refunding",
    states: [
      {
        name: "received",
        initial: true,
        do_action: "./actions.ts#Check",
        transitions: [
          { event: "valid", target: "charging" },
          { event: "invalid", target: "rejected" },
        ],
      },
      {
        name: "charging",
        entry_action: "./actions.ts#Log",
        do_action: "./actions.ts#Charge",
        transitions: [
          { event: "charged", target: "done", action: "./actions.ts#Log" },
          { after: "48h", target: "rejected" },
        ],
      },
      { name: "refunding", do_action: "./actions.ts#Refund", transitions: [{ event: "refunded", target: "rejected", local: true }] },
      { name: "done", final: true },
      { name: "rejected", final: true },
    ],
  };
}

async function versionOf(config: MachineConfig): Promise<string> {
  return (await defineMachines({ machines: [config] }, { baseDir: fixtures })).get(config.name).version;
}

/** `config` changed by `change`, which gets a deep copy. */
function changed(change: (config: MachineConfig) => void): MachineConfig {
  const config = structuredClone(orderConfig());
  change(config);
  return config;
}

describe("machine versions", () => {
  it("fill version, label, migrations and the normalized document", async () => {
    const order = await machineOf("order.yaml", "order");
    // Pinned: a change here gives every deployed machine a new version.
    expect(order.version).toBe("c25d0ed6b856666e");
    expect(order.version).toBe(machineVersion(order.document));
    expect(order.label).toBe("2025-11-orders");
    expect(order.migrations).toHaveLength(1);
    expect(order.migrations[0]?.from).toBe("2025-10-orders");
    expect([...(order.migrations[0]?.states ?? [])]).toEqual([["paying", "charging"]]);
    expect(order.migrations[0]?.action?.name).toBe("./actions.ts#AddCurrency");
    expect(order.migrations[0]?.location).toEqual({ file: path.join(fixtures, "order.yaml"), line: 35, column: 5 });
    // The document is the machine as written, with the label and the migrate: entries.
    expect(order.document).toStrictEqual({
      ...orderConfig(),
      version: "2025-11-orders",
      migrate: [{ from: "2025-10-orders", states: { paying: "charging" }, action: "./actions.ts#AddCurrency" }],
    });
    // The document is JSON: it survives a trip through the registry unchanged.
    expect(JSON.parse(JSON.stringify(order.document))).toStrictEqual(order.document);
  });

  it("is the same however the machine is written: order, keys, YAML style, label, migrations, defaults", async () => {
    const version = (await machineOf("order.yaml", "order")).version;
    expect((await machineOf("order-reformatted.yaml", "order")).version).toBe(version);
    expect(await versionOf(orderConfig())).toBe(version);
    expect(await versionOf(changed((c) => c.states.reverse()))).toBe(version);
    expect(await versionOf(changed((c) => {
          for (const state of c.states) state.transitions?.reverse();
        }))).toBe(version);
    expect(await versionOf(changed((c) => Object.assign(c, { version: "another label" })))).toBe(version);
    expect(await versionOf(changed((c) => Object.assign(c, { migrate: [{ from: "v0", states: { old: "done" } }] })))).toBe(version);
    expect(await versionOf(changed((c) => Object.assign(c.states[4] ?? {}, { initial: false, transitions: [] })))).toBe(version);
    expect(await versionOf(changed((c) => Object.assign(c.states[0]?.transitions?.[0] ?? {}, { local: false })))).toBe(version);
    // The default max_retries written out is the default left out.
    const defaulted = await versionOf(changed((c) => delete c.max_retries));
    expect(await versionOf(changed((c) => Object.assign(c, { max_retries: 5 })))).toBe(defaulted);
  });

  it("changes with a target, an action reference, a state name, an event, a timer, max_retries or on_abort", async () => {
    const version = await versionOf(orderConfig());
    const variants: Record<string, MachineConfig> = {
      target: changed((c) => Object.assign(c.states[0]?.transitions?.[1] ?? {}, { target: "done" })),
      "action reference": changed((c) => Object.assign(c.states[1] ?? {}, { entry_action: "./actions.ts#Check" })),
      "transition action": changed((c) => Object.assign(c.states[1]?.transitions?.[0] ?? {}, { action: undefined })),
      "state name": changed((c) => {
        Object.assign(c.states[3] ?? {}, { name: "completed" });
        Object.assign(c.states[1]?.transitions?.[0] ?? {}, { target: "completed" });
      }),
      event: changed((c) => Object.assign(c.states[1]?.transitions?.[0] ?? {}, { event: "paid" })),
      "timer duration": changed((c) => Object.assign(c.states[1]?.transitions?.[1] ?? {}, { after: "72h" })),
      local: changed((c) => Object.assign(c.states[2]?.transitions?.[0] ?? {}, { local: false })),
      max_retries: changed((c) => Object.assign(c, { max_retries: 4 })),
      "exit action": changed((c) => Object.assign(c.states[2] ?? {}, { exit_action: "./actions.ts#Log" })),
    };
    const versions = new Map<string, string>();
    for (const [what, config] of Object.entries(variants)) versions.set(what, await versionOf(config));
    for (const [what, other] of versions) expect(other, what).not.toBe(version);
    expect(new Set(versions.values()).size).toBe(versions.size);
    // Without on_abort the compensation state would be unreachable, so this one is hashed as a document.
    const { document } = await machineOf("order.yaml", "order");
    expect(machineVersion({ ...document, on_abort: "charging" })).not.toBe(version);
    expect(machineVersion({ ...document, on_abort: undefined })).not.toBe(version);
  });

  it("is given to machines built in TypeScript, each inline action named by its function", async () => {
    function validate(context: ActionContext) {
      return context.data.ok ? "valid" : "invalid";
    }
    const migrateData = (context: ActionContext) => {
      context.data.ok ??= true;
    };
    const config = defineMachine({
      name: "coded",
      version: "v2",
      initial: "received",
      states: {
        received: { do: validate, on: { valid: "done", invalid: "done" } },
        done: { final: true },
      },
      migrate: [{ from: "v1", states: { checking: "received" }, action: migrateData }],
    });
    const coded = (await defineMachines({ machines: [config] })).get("coded");
    expect(coded.version).toMatch(/^[0-9a-f]{16}$/);
    expect(coded.label).toBe("v2");
    expect(coded.document).toStrictEqual({
      name: "coded",
      version: "v2",
      max_retries: 5,
      states: [
        {
          name: "received",
          initial: true,
          do_action: "validate",
          transitions: [
            { event: "valid", target: "done" },
            { event: "invalid", target: "done" },
          ],
        },
        { name: "done", final: true },
      ],
      migrate: [{ from: "v1", states: { checking: "received" }, action: "migrateData" }],
    });
    expect(coded.version).toBe(machineVersion(coded.document));
    defineMachine({
      name: "typed",
      initial: "a",
      states: { a: { on: { go: "b" } }, b: { final: true } },
      // @ts-expect-error: a migration maps old states to states of this machine
      migrate: [{ from: "v1", states: { old: "c" } }],
    });
  });
});

describe("version: and migrate: problems", () => {
  it("reports wrong types, missing and empty from, bad mappings, unknown targets and keys, own labels, repeats and actions", async () => {
    expect(await problemsOf("problems/migrate.yaml")).toEqual([
      'problems/migrate.yaml:3:12: version of machine "typed" must be a non-empty string, got 3; quote it: version: "3"',
      'problems/migrate.yaml:4:12: migrate of machine "typed" must be a list of entries (- from: <earlier version hash or label>), got a mapping',
      'problems/migrate.yaml:16:5: migrate entry #1 of machine "entries" must be a mapping with from: and states: or action:, got "just a string"',
      'problems/migrate.yaml:17:5: migrate entry #2 of machine "entries" has no from; add from: <earlier version hash or label>',
      'problems/migrate.yaml:18:11: from of migrate entry #3 of machine "entries" must be a non-empty string, got ""',
      'problems/migrate.yaml:20:13: states of migrate entry from "v1" of machine "entries" must be a mapping of old state names to new ones, got a list',
      'problems/migrate.yaml:23:12: state "old" of migrate entry from "v0" of machine "entries" must map to the name of a state of this machine, got 7',
      'problems/migrate.yaml:24:14: unknown target state "bb" for state "older" in migrate entry from "v0" of machine "entries"; did you mean "b"?',
      'problems/migrate.yaml:25:5: unknown key "acton" in migrate entry from "v0" of machine "entries"; did you mean "action"?',
      'problems/migrate.yaml:26:11: migrate entry from "v2" of machine "entries" names this machine\'s own version label; from: names an earlier version (its hash or label)',
      'problems/migrate.yaml:27:11: migrate entry from "v0" of machine "entries" repeats an earlier entry from "v0" (first at problems/migrate.yaml:21:11); merge the two entries',
      'problems/migrate.yaml:29:13: action "../actions.ts#Missing": module has no export "Missing"; known exports: AddCurrency, Charge, Check, Log, Refund',
    ]);
  });

  it("reports a migration from the definition's own version", async () => {
    const version = await versionOf(orderConfig());
    const config = changed((c) => Object.assign(c, { migrate: [{ from: version }] }));
    const error = await defineMachines({ machines: [config] }, { baseDir: fixtures, file: "order.ts" }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DefinitionErrors);
    expect((error as DefinitionErrors).problems.map(String)).toEqual([
      `order.ts: migrate entry from "${version}" of machine "order" names this definition's own version; from: names an earlier version (its hash or label)`,
    ]);
  });
});

describe("compileDocument", () => {
  it("compiles a registry document back into the same machine and version", async () => {
    const order = await machineOf("order.yaml", "order");
    const stored = JSON.parse(JSON.stringify(order.document)) as MachineDocument;
    const { machine, problems } = await compileDocument(stored, { baseDir: fixtures });
    expect(problems).toEqual([]);
    expect(machine?.version).toBe(order.version);
    expect(machine?.version).toBe(machineVersion(stored));
    expect(machine?.label).toBe("2025-11-orders");
    expect(machine?.document).toStrictEqual(order.document);
    expect(machine?.states.get("charging")?.doAction?.name).toBe("./actions.ts#Charge");
    expect(machine?.migrations[0]?.action?.name).toBe("./actions.ts#AddCurrency");
  });

  it("resolves references from the registry of actions first", async () => {
    const { machine, problems } = await compileDocument(
      { name: "tiny", max_retries: 5, states: [{ name: "a", initial: true, do_action: "Registered", transitions: [{ event: "go", target: "b" }] }, { name: "b", final: true }] },
      { baseDir: fixtures, actions: new ActionRegistry().register("Registered", () => "go") },
    );
    expect(problems).toEqual([]);
    expect(machine?.states.get("a")?.doAction?.name).toBe("Registered");
  });

  it("names the machine, its version and a reference that no longer resolves", async () => {
    const order = await machineOf("order.yaml", "order");
    const document: MachineDocument = {
      ...order.document,
      states: order.document.states.map((state) => (state.name === "charging" ? { ...state, do_action: "./actions.ts#Gone" } : state)),
    };
    const version = machineVersion(document);
    const { machine, problems } = await compileDocument(document, { baseDir: fixtures });
    expect(machine).toBeUndefined();
    expect(problems.map(String)).toEqual([
      `machine "order" version ${version} ("2025-11-orders") uses action "./actions.ts#Gone", which no longer resolves: module has no export "Gone"; restore that action (its export or its registration), or migrate the instances of this version to a current one`,
    ]);
  });
});

describe("checkAgainst", () => {
  const deploy = (file: string) => machineOf(`deploy/${file}`, "shipment");
  const relative = (problems: readonly { toString(): string }[]) => problems.map((problem) => problem.toString().replaceAll(fixtures, ""));

  it("finds nothing stranded by the same version", async () => {
    const v1 = await deploy("v1.yaml");
    expect(checkAgainst(v1, v1)).toEqual([]);
  });

  it("reports a removed state at the new machine", async () => {
    const [v1, v2] = [await deploy("v1.yaml"), await deploy("v2-gone.yaml")];
    expect(relative(checkAgainst(v1, v2))).toEqual([
      `deploy/v2-gone.yaml:3:3: state "shipping" of machine "shipment" version ${v1.version} is gone from version ${v2.version}; add a migrate: entry from "v1" mapping it to a state of the new definition, or keep the state until its instances end`,
    ]);
  });

  it("suggests the previous hash when both versions carry the same label", async () => {
    const [v1, v2] = [await deploy("v1.yaml"), await deploy("v2-gone.yaml")];
    const relabelled = (await compileDocument({ ...v2.document, version: "v1" }, { baseDir: path.join(fixtures, "deploy") })).machine;
    if (relabelled === undefined) throw new Error("the document did not compile");
    expect(checkAgainst(v1, relabelled).map(String)).toEqual([
      `state "shipping" of machine "shipment" version ${v1.version} is gone from version ${v2.version}; add a migrate: entry from "${v1.version}" mapping it to a state of the new definition, or keep the state until its instances end`,
    ]);
  });

  it("accepts a removed state that a migrate: entry from the previous label or hash maps", async () => {
    const [v1, v2] = [await deploy("v1.yaml"), await deploy("v2-mapped.yaml")];
    expect(checkAgainst(v1, v2)).toEqual([]);
    // The entry is for v1: a previous version with another label and hash is not mapped by it.
    const baseDir = path.join(fixtures, "deploy");
    const v0 = (await compileDocument({ ...v1.document, version: "v0", max_retries: 4 }, { baseDir })).machine as MachineDefinition;
    expect(relative(checkAgainst(v0, v2)).map((problem) => problem.split(" is gone")[0])).toEqual([
      `deploy/v2-mapped.yaml:3:3: state "shipping" of machine "shipment" version ${v0.version}`,
    ]);
    const byHash = (await compileDocument({ ...v2.document, migrate: [{ from: v0.version, states: { shipping: "dispatched" } }] }, { baseDir })).machine;
    expect(byHash?.version).toBe(v2.version);
    if (byHash === undefined) throw new Error("the document did not compile");
    expect(checkAgainst(v0, byHash)).toEqual([]);
  });

  it("reports removed transitions, the timer included, at the state", async () => {
    const [v1, v2] = [await deploy("v1.yaml"), await deploy("v2-transitions.yaml")];
    expect(relative(checkAgainst(v1, v2))).toEqual([
      `deploy/v2-transitions.yaml:14:5: instances waiting in "packing" for the timer after 48h would be stranded: version ${v2.version} of machine "shipment" removes its timer transition; keep the transition until those instances end, or add a migrate: entry from "v1" mapping "packing" to a state that handles them`,
      `deploy/v2-transitions.yaml:18:5: instances waiting in "shipping" for "lost" would be stranded: version ${v2.version} of machine "shipment" removes its transition on "lost"; keep the transition until those instances end, or add a migrate: entry from "v1" mapping "shipping" to a state that handles them`,
    ]);
  });

  it("with occupied states, reports only them and the states reachable from them, with their counts", async () => {
    const [v1, v2] = [await deploy("v1.yaml"), await deploy("v2-both.yaml")];
    const gone = (count: string) =>
      `deploy/v2-both.yaml:3:3: state "shipping" of machine "shipment" version ${v1.version} is gone from version ${v2.version}${count}; add a migrate: entry from "v1" mapping it to a state of the new definition, or keep the state until its instances end`;
    const invalid = (count: string) =>
      `deploy/v2-both.yaml:6:5: instances waiting in "received" for "invalid" would be stranded: version ${v2.version} of machine "shipment" removes its transition on "invalid"${count}; keep the transition until those instances end, or add a migrate: entry from "v1" mapping "received" to a state that handles them`;
    const counted = (counts: Record<string, number>) => relative(checkAgainst(v1, v2, new Map(Object.entries(counts))));
    expect(relative(checkAgainst(v1, v2))).toEqual([gone(""), invalid("")]);
    expect(counted({ received: 1 })).toEqual([gone(""), invalid(" (1 instance is in it)")]);
    // An instance not yet in a state is on its way to the initial one.
    expect(counted({ pseudo_init: 1 })).toEqual([gone(""), invalid("")]);
    expect(counted({ packing: 3 })).toEqual([gone("")]);
    expect(counted({ shipping: 2 })).toEqual([gone(" (2 instances are in it)")]);
    expect(counted({ shipping: 1, received: 4 })).toEqual([gone(" (1 instance is in it)"), invalid(" (4 instances are in it)")]);
    expect(counted({ rejected: 5, done: 1 })).toEqual([]);
    expect(counted({ shipping: 0 })).toEqual([]);
    expect(counted({})).toEqual([]);
  });
});
