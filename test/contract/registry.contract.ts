/**
 * Contract of the journal's definition registry (SPEC §10): registered versions, the instances
 * pinned to them, migration orders and the atomic move of one instance to another version. It uses
 * the {@link JournalPort} interface only, so every journal backend runs it as it is.
 */
import { randomUUID } from "node:crypto";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { MachineDocument } from "../../src/core/machine.js";
import type {
  DefinitionRecord,
  InstanceMove,
  InstanceRecord,
  InstanceUpdate,
  JournalMessage,
  JournalPort,
  MigrationOrder,
  VersionCount,
} from "../../src/ports.js";
import { TestClock } from "../support/clock.js";
import type { PortFactory, PortFixture } from "./port-factory.js";
import { stepEntry } from "../support/journal-messages.js";

/** A version hash as the definition layer makes them (16 hex digits). */
const hash = () => randomUUID().replace(/-/g, "").slice(0, 16);

/** A small normalized machine, its states named after `tag` so two versions differ. */
function document(machineName: string, tag: string, label?: string): MachineDocument {
  return {
    name: machineName,
    ...(label === undefined ? {} : { version: label }),
    max_retries: 3,
    states: [
      { name: "pseudo_init", initial: true, transitions: [{ event: "pseudo_start", target: `review_${tag}` }] },
      { name: `review_${tag}`, entry_action: "./actions.ts#Notify", transitions: [{ event: "approve", target: "done" }, { after: "48h", target: "done" }] },
      { name: "done", final: true },
    ],
    migrate: [{ from: "2025-10", states: { review: `review_${tag}` }, action: "./actions.ts#Upgrade" }],
  };
}

/** The rows of `all` whose machine is one of `machines`, in their order (a shared store may hold others). */
function ofMachines<T extends { readonly machineName: string }>(all: readonly T[], machines: readonly string[]): T[] {
  return all.filter((row) => machines.includes(row.machineName));
}

/** Counts sorted by machine, version (unversioned first) and status: the port promises no order. */
function sortedCounts(counts: readonly VersionCount[]): VersionCount[] {
  const key = (c: VersionCount) => [c.machineName, c.version ?? "", c.status].join("\u0000");
  return [...counts].sort((a, b) => (key(a) < key(b) ? -1 : key(a) > key(b) ? 1 : 0));
}

export function registryContract(name: string, factory: PortFactory<JournalPort>): void {
  describe(`${name}: definition registry contract`, () => {
    let clock: TestClock;
    let fixture: PortFixture<JournalPort>;
    let journal: JournalPort;
    let machine: string;

    const definition = (overrides: Partial<DefinitionRecord> = {}): DefinitionRecord => {
      const machineName = overrides.machineName ?? machine;
      const version = overrides.version ?? hash();
      return { machineName, version, document: document(machineName, version), deployedAt: clock.now(), ...overrides };
    };
    const record = (overrides: Partial<InstanceRecord> = {}): InstanceRecord => ({
      correlationId: randomUUID(),
      machineName: machine,
      status: "running",
      state: "review",
      userContext: { count: 0 },
      startedAt: clock.now(),
      updatedAt: clock.now(),
      ...overrides,
    });
    const update = (steps: number, overrides: Partial<InstanceUpdate> = {}): InstanceUpdate => ({
      machineName: machine,
      status: "waiting",
      state: `state${steps}`,
      userContext: { steps },
      reason: undefined,
      steps,
      ...overrides,
    });
    const entry = (steps: number, overrides: Partial<JournalMessage> = {}): JournalMessage => stepEntry(steps, clock.now(), overrides);
    /** An instance of `machine` on `version`, resting (waiting) at step `steps`. */
    const waitingAt = async (version: string | undefined, steps: number, overrides: Partial<InstanceRecord> = {}): Promise<InstanceRecord> => {
      const put = record({ ...(version === undefined ? {} : { version }), ...overrides });
      expect(await journal.createInstances([put])).toEqual([true]);
      await journal.updateInstance(put.correlationId, update(steps));
      return put;
    };
    const move = (fromVersion: string | null, steps: number, toVersion: string, overrides: Partial<InstanceMove> = {}): InstanceMove => ({
      fromVersion,
      steps,
      toVersion,
      state: "review_v2",
      userContext: { migrated: true, steps },
      entry: entry(steps, {
        current_state: "review_v2",
        current_event: "migrate",
        user_context: { migrated: true, steps },
        origin: "migrate",
        version: toVersion,
        migrated_from: { version: fromVersion, state: `state${steps}` },
      }),
      ...overrides,
    });

    beforeEach(async () => {
      clock = new TestClock();
      fixture = await factory(clock);
      journal = fixture.port;
      machine = `machine-${randomUUID()}`;
    });
    afterEach(() => fixture.cleanup());

    describe("definitions", () => {
      it("registers versions not registered yet, keeping an existing version's record and deployedAt", async () => {
        const [first, second] = [definition({ label: "2025-11" }), definition()];
        expect(await journal.registerDefinitions([first, second])).toEqual([true, true]);
        clock.advance(60_000);
        const again = { ...first, label: "relabelled", deployedAt: clock.now(), document: document(machine, "other") };
        const third = definition();
        expect(await journal.registerDefinitions([again, third])).toEqual([false, true]);
        expect(await journal.getDefinition(machine, first.version)).toEqual(first);
        expect(await journal.getDefinition(machine, second.version)).toEqual(second);
        expect(await journal.getDefinition(machine, third.version)).toEqual(third);
        expect(await journal.registerDefinitions([])).toEqual([]);
      });

      it("answers per record in order, a version repeated in one call new only the first time", async () => {
        const one = definition();
        const twice = { ...one, label: "later" };
        expect(await journal.registerDefinitions([one, twice])).toEqual([true, false]);
        expect(await journal.getDefinition(machine, one.version)).toEqual(one);
      });

      it("keeps the same version of two machines apart", async () => {
        const other = `machine-${randomUUID()}`;
        const version = hash();
        const mine = definition({ version });
        const theirs = definition({ machineName: other, version, label: "theirs" });
        expect(await journal.registerDefinitions([mine, theirs])).toEqual([true, true]);
        expect(await journal.getDefinition(machine, version)).toEqual(mine);
        expect(await journal.getDefinition(other, version)).toEqual(theirs);
      });

      it("returns a registered version with its document as given, and nothing for an unknown one", async () => {
        const put = definition({ label: "2025-12-orders" });
        await journal.registerDefinitions([put]);
        const got = await journal.getDefinition(machine, put.version);
        expect(got).toEqual(put);
        expect(got?.document).toEqual(document(machine, put.version));
        expect(await journal.getDefinition(machine, hash())).toBeUndefined();
        expect(await journal.getDefinition(`machine-${randomUUID()}`, put.version)).toBeUndefined();
      });

      it("lists versions by machine name, then newest deployedAt first, ties by version", async () => {
        const [a, b] = [`a-${randomUUID()}`, `b-${randomUUID()}`];
        const oldest = definition({ machineName: b, version: "0000000000000003" });
        clock.advance(1_000);
        const tieHigh = definition({ machineName: b, version: "ffffffffffffffff" });
        const tieLow = definition({ machineName: b, version: "0000000000000001" });
        const onlyA = definition({ machineName: a });
        clock.advance(1_000);
        const newest = definition({ machineName: b, version: "8888888888888888", label: "newest" });
        await journal.registerDefinitions([tieHigh, oldest, newest, onlyA, tieLow]);
        const expected = [onlyA, newest, tieLow, tieHigh, oldest];
        expect(ofMachines(await journal.definitionVersions(), [a, b])).toEqual(expected);
        expect(await journal.definitionVersions(b)).toEqual([newest, tieLow, tieHigh, oldest]);
        expect(await journal.definitionVersions(a)).toEqual([onlyA]);
        expect(await journal.definitionVersions(`machine-${randomUUID()}`)).toEqual([]);
      });

      it("deletes a registered version with the migration orders from and to it, and says when there was none", async () => {
        const other = `machine-${randomUUID()}`;
        const [v1, v2, v3] = [definition(), definition(), definition()];
        const theirs = definition({ machineName: other, version: v2.version });
        await journal.registerDefinitions([v1, v2, v3, theirs]);
        const toV2: MigrationOrder = { machineName: machine, from: v1.version, to: v2.version, at: clock.now() };
        const fromV2: MigrationOrder = { machineName: machine, from: v2.version, to: v3.version, at: clock.now() };
        const unversioned: MigrationOrder = { machineName: machine, from: null, to: v3.version, at: clock.now() };
        const otherMachine: MigrationOrder = { machineName: other, from: v1.version, to: v2.version, at: clock.now() };
        for (const order of [toV2, fromV2, unversioned, otherMachine]) await journal.addMigrationOrder(order);

        expect(await journal.deleteDefinition(machine, v2.version)).toBe(true);
        expect(await journal.getDefinition(machine, v2.version)).toBeUndefined();
        // Deployed in the same millisecond: by version.
        expect(await journal.definitionVersions(machine)).toEqual([v1, v3].sort((x, y) => (x.version < y.version ? -1 : 1)));
        expect(await journal.getDefinition(other, v2.version)).toEqual(theirs);
        expect(await journal.migrationOrders(machine)).toEqual([unversioned]);
        expect(await journal.migrationOrders(other)).toEqual([otherMachine]);

        expect(await journal.deleteDefinition(machine, v2.version)).toBe(false);
        expect(await journal.deleteDefinition(`machine-${randomUUID()}`, v1.version)).toBe(false);
      });
    });

    describe("instances pinned to a version", () => {
      it("stores an instance's version and returns it; an unversioned instance has none", async () => {
        const version = hash();
        const pinned = record({ version });
        const seed = record();
        expect(await journal.createInstances([pinned, seed])).toEqual([true, true]);
        expect(await journal.getInstance(pinned.correlationId)).toEqual({ ...pinned, reason: undefined, steps: 0 });
        const unversioned = await journal.getInstance(seed.correlationId);
        expect(unversioned).toEqual({ ...seed, reason: undefined, steps: 0 });
        expect(unversioned?.version).toBeUndefined();
        const listed = await journal.list({ machineName: machine });
        expect(listed.find((r) => r.correlationId === pinned.correlationId)?.version).toBe(version);
        expect(listed.find((r) => r.correlationId === seed.correlationId)?.version).toBeUndefined();
      });

      it("lists the instances of one version, or (null) the unversioned ones", async () => {
        const [v1, v2] = [hash(), hash()];
        const a = record({ version: v1 });
        clock.advance(1);
        const b = record({ version: v2 });
        clock.advance(1);
        const c = record({ version: v1 });
        clock.advance(1);
        const seed = record();
        const elsewhere = record({ machineName: `machine-${randomUUID()}`, version: v1 });
        await journal.createInstances([a, b, c, seed, elsewhere]);
        const ids = (records: InstanceRecord[]) => records.map((r) => r.correlationId);
        expect(ids(await journal.list({ machineName: machine, version: v1 }))).toEqual([c.correlationId, a.correlationId]);
        expect(ids(await journal.list({ machineName: machine, version: v2 }))).toEqual([b.correlationId]);
        expect(ids(await journal.list({ machineName: machine, version: null }))).toEqual([seed.correlationId]);
        expect(ids(await journal.list({ machineName: machine, version: hash() }))).toEqual([]);
        expect(ids(await journal.list({ machineName: machine }))).toEqual([seed, c, b, a].map((r) => r.correlationId));
        expect(ids(await journal.list({ version: v1 })).filter((id) => [a, c, elsewhere].some((r) => r.correlationId === id)).sort()).toEqual(
          [a, c, elsewhere].map((r) => r.correlationId).sort(),
        );
        expect(ids(await journal.list({ machineName: machine, version: v1, status: "running", limit: 1 }))).toEqual([c.correlationId]);
        expect(ids(await journal.list({ machineName: machine, version: v1, after: { startedAt: c.startedAt, correlationId: c.correlationId } }))).toEqual([
          a.correlationId,
        ]);
      });

      it("updates an instance's version when the update gives one, and keeps the record's when it does not", async () => {
        const [v1, v2] = [hash(), hash()];
        const put = record({ version: v1 });
        const seed = record();
        await journal.createInstances([put, seed]);
        await journal.updateInstance(put.correlationId, update(1));
        expect(await journal.getInstance(put.correlationId)).toMatchObject({ version: v1, steps: 1, state: "state1" });
        await journal.updateInstance(put.correlationId, update(2, { version: v2 }));
        expect(await journal.getInstance(put.correlationId)).toMatchObject({ version: v2, steps: 2, state: "state2" });
        await journal.updateInstance(put.correlationId, update(3));
        expect(await journal.getInstance(put.correlationId)).toMatchObject({ version: v2, steps: 3 });
        // An update the monotonic rule ignores leaves the version as well.
        await journal.updateInstance(put.correlationId, update(1, { version: v1 }));
        expect(await journal.getInstance(put.correlationId)).toMatchObject({ version: v2, steps: 3 });

        await journal.updateInstance(seed.correlationId, update(1));
        expect((await journal.getInstance(seed.correlationId))?.version).toBeUndefined();
        await journal.updateInstance(seed.correlationId, update(2, { version: v1 }));
        expect(await journal.getInstance(seed.correlationId)).toMatchObject({ version: v1, steps: 2 });

        const created = randomUUID();
        await journal.updateInstance(created, update(1, { version: v2 }));
        expect(await journal.getInstance(created)).toMatchObject({ correlationId: created, version: v2 });
      });

      it("counts instances per machine, version and status, paused apart and unversioned under null", async () => {
        const other = `machine-${randomUUID()}`;
        const [v1, v2] = [hash(), hash()];
        await journal.createInstances([
          record({ version: v1 }),
          record({ version: v1 }),
          record({ version: v1, status: "completed", state: "done" }),
          record({ version: v2, status: "failed", reason: "boom" }),
          record(),
          record({ status: "aborted", reason: "operator" }),
          record({ machineName: other, version: v1 }),
        ]);
        await waitingAt(v1, 2);
        const paused = await waitingAt(v1, 3);
        expect(await journal.setPaused(paused.correlationId, true)).toBe(true);
        const pausedRunning = record({ version: v2 });
        await journal.createInstances([pausedRunning]);
        expect(await journal.setPaused(pausedRunning.correlationId, true)).toBe(true);

        const mine: VersionCount[] = [
          { machineName: machine, version: null, status: "aborted", count: 1 },
          { machineName: machine, version: null, status: "running", count: 1 },
          { machineName: machine, version: v1, status: "completed", count: 1 },
          { machineName: machine, version: v1, status: "paused", count: 1 },
          { machineName: machine, version: v1, status: "running", count: 2 },
          { machineName: machine, version: v1, status: "waiting", count: 1 },
          { machineName: machine, version: v2, status: "failed", count: 1 },
          { machineName: machine, version: v2, status: "paused", count: 1 },
        ];
        expect(sortedCounts(await journal.versionCounts(machine))).toEqual(sortedCounts(mine));
        const theirs: VersionCount[] = [{ machineName: other, version: v1, status: "running", count: 1 }];
        expect(sortedCounts(await journal.versionCounts(other))).toEqual(theirs);
        expect(sortedCounts(ofMachines(await journal.versionCounts(), [machine, other]))).toEqual(sortedCounts([...mine, ...theirs]));
        expect(await journal.versionCounts(`machine-${randomUUID()}`)).toEqual([]);
      });
    });

    describe("migration orders", () => {
      it("records orders, a later one from the same version replacing the earlier, by machine then from", async () => {
        const [a, b] = [`a-${randomUUID()}`, `b-${randomUUID()}`];
        const order = (machineName: string, from: string | null, to: string): MigrationOrder => ({ machineName, from, to, at: clock.now() });
        const replaced = order(b, "3333333333333333", "5555555555555555");
        const fromOne = order(b, "1111111111111111", "5555555555555555");
        const ofA = order(a, "2222222222222222", "4444444444444444");
        const unversioned = order(b, null, "5555555555555555");
        for (const given of [replaced, fromOne, ofA, unversioned]) await journal.addMigrationOrder(given);
        clock.advance(5_000);
        const replacing = order(b, "3333333333333333", "6666666666666666");
        await journal.addMigrationOrder(replacing);
        // The same order again changes nothing.
        await journal.addMigrationOrder(replacing);

        // The unversioned instances' order (from null) first.
        expect(await journal.migrationOrders(b)).toEqual([unversioned, fromOne, replacing]);
        expect(await journal.migrationOrders(a)).toEqual([ofA]);
        expect(ofMachines(await journal.migrationOrders(), [a, b])).toEqual([ofA, unversioned, fromOne, replacing]);
        expect(await journal.migrationOrders(`machine-${randomUUID()}`)).toEqual([]);
      });

      it("replaces the order of unversioned instances like any other", async () => {
        const first: MigrationOrder = { machineName: machine, from: null, to: hash(), at: clock.now() };
        await journal.addMigrationOrder(first);
        clock.advance(1_000);
        const second: MigrationOrder = { machineName: machine, from: null, to: hash(), at: clock.now() };
        await journal.addMigrationOrder(second);
        expect(await journal.migrationOrders(machine)).toEqual([second]);
      });
    });

    describe("migrating an instance", () => {
      it("moves an instance on its version at its step: version, state, context and updatedAt set, the entry appended", async () => {
        const [v1, v2] = [hash(), hash()];
        const put = await waitingAt(v1, 3);
        const last = entry(3, { version: v1 });
        await journal.appendMessage(put.correlationId, last);
        clock.advance(10_000);
        const moving = move(v1, 3, v2);
        expect(await journal.migrateInstance(put.correlationId, moving)).toBe(true);
        expect(await journal.getInstance(put.correlationId)).toEqual({
          ...put,
          status: "waiting",
          state: "review_v2",
          userContext: { migrated: true, steps: 3 },
          updatedAt: clock.now(),
          reason: undefined,
          steps: 3,
          version: v2,
        });
        const history = await journal.history(put.correlationId);
        expect(history).toEqual([last, moving.entry]);
        expect(history[1]).toMatchObject({ origin: "migrate", version: v2, migrated_from: { version: v1, state: "state3" } });
        // Done once: the same move again finds the instance on v2 and changes nothing.
        expect(await journal.migrateInstance(put.correlationId, moving)).toBe(false);
        expect(await journal.history(put.correlationId)).toEqual([last, moving.entry]);
      });

      it("moves an unversioned instance from null, and a running or paused one", async () => {
        const v2 = hash();
        const seed = await waitingAt(undefined, 1);
        expect(await journal.migrateInstance(seed.correlationId, move(null, 1, v2))).toBe(true);
        expect(await journal.getInstance(seed.correlationId)).toMatchObject({ version: v2, state: "review_v2", steps: 1, status: "waiting" });
        expect(await journal.history(seed.correlationId)).toEqual([move(null, 1, v2).entry]);

        const v1 = hash();
        const running = record({ version: v1 });
        await journal.createInstances([running]);
        expect(await journal.migrateInstance(running.correlationId, move(v1, 0, v2))).toBe(true);
        expect(await journal.getInstance(running.correlationId)).toMatchObject({ version: v2, status: "running", steps: 0 });

        const paused = await waitingAt(v1, 4);
        await journal.setPaused(paused.correlationId, true);
        expect(await journal.migrateInstance(paused.correlationId, move(v1, 4, v2))).toBe(true);
        expect(await journal.getInstance(paused.correlationId)).toMatchObject({ version: v2, status: "paused", pausedStatus: "waiting", paused: true });
      });

      it("refuses, changing nothing, an instance on another version, at another step, in a final status, or unknown", async () => {
        const [v1, v2] = [hash(), hash()];
        const put = await waitingAt(v1, 3);
        const before = await journal.getInstance(put.correlationId);
        clock.advance(1_000);
        expect(await journal.migrateInstance(put.correlationId, move(hash(), 3, v2))).toBe(false);
        expect(await journal.migrateInstance(put.correlationId, move(null, 3, v2))).toBe(false);
        expect(await journal.migrateInstance(put.correlationId, move(v1, 2, v2))).toBe(false);
        expect(await journal.migrateInstance(put.correlationId, move(v1, 4, v2))).toBe(false);
        expect(await journal.getInstance(put.correlationId)).toEqual(before);
        expect(await journal.history(put.correlationId)).toEqual([]);

        const seed = await waitingAt(undefined, 2);
        expect(await journal.migrateInstance(seed.correlationId, move(v1, 2, v2))).toBe(false);
        expect((await journal.getInstance(seed.correlationId))?.version).toBeUndefined();
        expect(await journal.history(seed.correlationId)).toEqual([]);

        for (const status of ["completed", "failed", "aborted"] as const) {
          const ended = await waitingAt(v1, 2);
          await journal.updateInstance(ended.correlationId, update(3, { status, state: "done" }));
          const endedBefore = await journal.getInstance(ended.correlationId);
          expect(await journal.migrateInstance(ended.correlationId, move(v1, 3, v2))).toBe(false);
          expect(await journal.getInstance(ended.correlationId)).toEqual(endedBefore);
          expect(await journal.history(ended.correlationId)).toEqual([]);
        }

        const unknown = randomUUID();
        expect(await journal.migrateInstance(unknown, move(v1, 0, v2))).toBe(false);
        expect(await journal.getInstance(unknown)).toBeUndefined();
        expect(await journal.history(unknown)).toEqual([]);
      });
    });

    describe("messages", () => {
      it("keeps a message's version and migrated_from through appendMessage and history", async () => {
        const id = randomUUID();
        const [v1, v2] = [hash(), hash()];
        const plain = entry(0);
        const versioned = entry(1, { version: v1 });
        const migrated = entry(2, { origin: "migrate", version: v2, migrated_from: { version: v1, state: "review" } });
        const fromSeed = entry(3, { origin: "migrate", version: v2, migrated_from: { version: null, state: "review" } });
        for (const message of [fromSeed, migrated, plain, versioned]) await journal.appendMessage(id, message);
        const history = await journal.history(id);
        expect(history).toEqual([plain, versioned, migrated, fromSeed]);
        expect(history[0]?.version).toBeUndefined();
        expect(history[3]?.migrated_from).toEqual({ version: null, state: "review" });
      });
    });
  });
}
