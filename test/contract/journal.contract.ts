/** Contract of the instance journal: records, per-instance history in order, and listing. */
import { randomUUID } from "node:crypto";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { InstanceRecord, JournalAttempt, JournalMessage, JournalPort, ListOptions, ParkedMessage, StateActivity, StoredStatus } from "../../src/ports.js";
import { TestClock } from "../support/clock.js";
import { sentMessage as sent, stepEntry } from "../support/journal-messages.js";
import type { PortFactory, PortFixture } from "./port-factory.js";

export function journalContract(name: string, factory: PortFactory<JournalPort>): void {
  journalActivityContract(name, factory);
  journalStateCountsContract(name, factory);
  describe(`${name}: journal contract`, () => {
    let clock: TestClock;
    let fixture: PortFixture<JournalPort>;
    let journal: JournalPort;

    const record = (overrides: Partial<InstanceRecord> = {}): InstanceRecord => ({
      correlationId: randomUUID(),
      machineName: "tracer",
      status: "running",
      state: "pseudo_init",
      userContext: { count: 0 },
      startedAt: clock.now(),
      updatedAt: clock.now(),
      ...overrides,
    });
    const entry = (steps: number): JournalMessage => stepEntry(steps, clock.now());
    const attempt = (steps: number, retries: number, overrides: Partial<JournalAttempt> = {}): JournalAttempt => ({
      at: clock.now(),
      current_state: "submitted",
      current_event: "well_formed",
      steps,
      retries,
      outcome: "retry",
      state: "scanning",
      slot: "do_action",
      event: "well_formed",
      action: "./actions.ts#VirusScan",
      where: "scanning.do_action ./actions.ts#VirusScan",
      error_name: "Error",
      error: `scan service 503 (${steps}:${retries})`,
      stack: "at VirusScan (/app/actions.ts:12:11)",
      ...overrides,
    });

    beforeEach(async () => {
      clock = new TestClock();
      fixture = await factory(clock);
      journal = fixture.port;
    });
    afterEach(() => fixture.cleanup());

    it("stores and returns an instance record", async () => {
      const put = record({ userContext: { nested: { list: [1, "two"] } } });
      await journal.createInstances([put]);
      expect(await journal.getInstance(put.correlationId)).toEqual({ ...put, reason: undefined, steps: 0 });
      expect(await journal.getInstance(randomUUID())).toBeUndefined();
    });

    it("updates an instance, keeping when it started", async () => {
      const put = record();
      await journal.createInstances([put]);
      clock.advance(1_000);
      await journal.updateInstance(put.correlationId, {
        machineName: "tracer",
        status: "failed",
        state: "state2",
        userContext: { count: 2 },
        reason: "boom",
        steps: 2,
      });
      expect(await journal.getInstance(put.correlationId)).toEqual({
        ...put,
        status: "failed",
        state: "state2",
        userContext: { count: 2 },
        updatedAt: clock.now(),
        reason: "boom",
        steps: 2,
      });
    });

    it("creates only the records whose ids are free, leaving a newer state untouched", async () => {
      const taken = record();
      expect(await journal.createInstances([taken])).toEqual([true]);
      await journal.updateInstance(taken.correlationId, { machineName: "tracer", status: "completed", state: "final", userContext: { count: 3 }, reason: undefined, steps: 1 });
      const free = record();
      expect(await journal.createInstances([record({ correlationId: taken.correlationId }), free])).toEqual([false, true]);
      expect(await journal.getInstance(taken.correlationId)).toMatchObject({ status: "completed", state: "final", userContext: { count: 3 } });
      expect(await journal.getInstance(free.correlationId)).toEqual({ ...free, reason: undefined, steps: 0 });
      expect(await journal.createInstances([])).toEqual([]);
    });

    it("deletes an instance with its history and errors", async () => {
      const [gone, kept] = [record(), record()];
      await journal.createInstances([gone, kept]);
      await journal.appendMessage(gone.correlationId, entry(0));
      await journal.appendMessage(kept.correlationId, entry(0));
      await journal.appendErrors(gone.correlationId, { counters: { retry: 1 }, dimensions: { machine_name: "tracer", current_state: "s", current_event: "e" } });
      await journal.appendAttempt(gone.correlationId, attempt(0, 0));
      await journal.appendAttempt(kept.correlationId, attempt(0, 0));
      await journal.deleteInstance(gone.correlationId);
      expect(await journal.attempts(gone.correlationId)).toEqual([]);
      expect(await journal.attempts(kept.correlationId)).toEqual([attempt(0, 0)]);
      expect(await journal.getInstance(gone.correlationId)).toBeUndefined();
      expect(await journal.history(gone.correlationId)).toEqual([]);
      expect(await journal.errors(gone.correlationId)).toEqual([]);
      expect(await journal.history(kept.correlationId)).toEqual([entry(0)]);
    });

    it("returns history in step order, whatever order producers appended it in", async () => {
      const id = randomUUID();
      // start journals step 0 after its send; a worker may have journaled step 1 before that.
      const retry = { ...entry(1), retries: 1, role: "retry" as const };
      for (const message of [entry(1), entry(0), retry, entry(2)]) await journal.appendMessage(id, message);
      expect(await journal.history(id)).toEqual([entry(0), entry(1), retry, entry(2)]);
    });

    it("keeps each instance's failed attempts, every field as given, in step and retry order", async () => {
      const [a, b] = [randomUUID(), randomUUID()];
      const fatal = attempt(2, 1, { outcome: "fatal" });
      // No action threw (a lease that was unavailable): only the message's fields and the error.
      const lease: JournalAttempt = {
        at: clock.now() + 5,
        current_state: "submitted",
        current_event: "well_formed",
        steps: 2,
        retries: 0,
        outcome: "retry",
        error_name: "LeaseUnavailable",
        error: "the lease was held by another processing",
      };
      for (const entry of [attempt(1, 0), fatal, lease, attempt(1, 1)]) await journal.appendAttempt(a, entry);
      await journal.appendAttempt(b, attempt(7, 0));
      expect(await journal.attempts(a)).toEqual([attempt(1, 0), attempt(1, 1), lease, fatal]);
      expect(await journal.attempts(b)).toEqual([attempt(7, 0)]);
      expect(await journal.attempts(randomUUID())).toEqual([]);
    });

    it("never takes an instance back to an earlier step, or from a final status to running or waiting", async () => {
      const put = record();
      await journal.createInstances([put]);
      const update = (steps: number, status: StoredStatus, state: string) =>
        journal.updateInstance(put.correlationId, { machineName: "tracer", status, state, userContext: { steps }, reason: undefined, steps });
      await update(4, "completed", "final");
      // A late write of the processing before it (it had lost its lease) changes nothing.
      await update(3, "running", "state2");
      expect(await journal.getInstance(put.correlationId)).toMatchObject({ status: "completed", state: "final", userContext: { steps: 4 } });
      // Nor does a duplicate processing of the final step that still thinks the instance runs.
      await update(4, "running", "state1");
      expect(await journal.getInstance(put.correlationId)).toMatchObject({ status: "completed", state: "final", userContext: { steps: 4 } });
      await update(4, "waiting", "state1");
      expect(await journal.getInstance(put.correlationId)).toMatchObject({ status: "completed", state: "final", userContext: { steps: 4 } });
      // A later step does move it on (a final status is left by nothing but a later step).
      await update(5, "failed", "final");
      expect(await journal.getInstance(put.correlationId)).toMatchObject({ status: "failed", userContext: { steps: 5 } });
    });

    it("records a waiting instance with the step it waits at; a later step moves it on", async () => {
      const put = record();
      await journal.createInstances([put]);
      const update = (steps: number, status: StoredStatus, state: string) =>
        journal.updateInstance(put.correlationId, { machineName: "tracer", status, state, userContext: { steps }, reason: undefined, steps });
      await update(2, "waiting", "review");
      expect(await journal.getInstance(put.correlationId)).toMatchObject({ status: "waiting", state: "review", steps: 2 });
      expect((await journal.list({ machineName: "tracer", status: "waiting" })).map((r) => r.correlationId)).toContain(put.correlationId);
      await update(1, "running", "earlier");
      expect(await journal.getInstance(put.correlationId)).toMatchObject({ status: "waiting", state: "review", steps: 2 });
      await update(3, "completed", "approved");
      expect(await journal.getInstance(put.correlationId)).toMatchObject({ status: "completed", state: "approved", steps: 3 });
    });

    it("creates an unknown instance on update", async () => {
      const id = randomUUID();
      await journal.updateInstance(id, { machineName: "m", status: "completed", state: "final", userContext: {}, reason: undefined, steps: 1 });
      expect(await journal.getInstance(id)).toMatchObject({ correlationId: id, machineName: "m", status: "completed", startedAt: clock.now() });
    });

    it("keeps each instance's messages and errors in order", async () => {
      const [a, b] = [randomUUID(), randomUUID()];
      for (const steps of [1, 2, 3]) {
        await journal.appendMessage(a, entry(steps));
        await journal.appendMessage(b, entry(steps * 10));
      }
      expect(await journal.history(a)).toEqual([entry(1), entry(2), entry(3)]);
      expect(await journal.history(b)).toEqual([entry(10), entry(20), entry(30)]);
      expect(await journal.history(randomUUID())).toEqual([]);

      const dimensions = { machine_name: "tracer", current_state: "s", current_event: "e" };
      await journal.appendErrors(a, { counters: { retry: 1 }, dimensions });
      await journal.appendErrors(a, { counters: { fatal: 1 }, dimensions });
      expect(await journal.errors(a)).toEqual([
        { counters: { retry: 1 }, dimensions },
        { counters: { fatal: 1 }, dimensions },
      ]);
      expect(await journal.errors(b)).toEqual([]);
    });

    it("lists instances by machine and status, most recently started first", async () => {
      const machine = `m-${randomUUID()}`;
      const older = record({ machineName: machine });
      clock.advance(1);
      const newer = record({ machineName: machine, status: "completed" });
      await journal.createInstances([older, newer]);
      clock.advance(1);
      // An update does not move an instance up: the order is by start time.
      await journal.updateInstance(older.correlationId, { machineName: machine, status: "running", state: "s", userContext: {}, reason: undefined, steps: 1 });
      await journal.createInstances([record({ machineName: `other-${randomUUID()}` })]);
      const ids = (list: InstanceRecord[]) => list.map((r) => r.correlationId);
      expect(ids(await journal.list({ machineName: machine }))).toEqual([newer.correlationId, older.correlationId]);
      expect(ids(await journal.list({ machineName: machine, status: "running" }))).toEqual([older.correlationId]);
      expect(ids(await journal.list({ machineName: machine, limit: 1 }))).toEqual([newer.correlationId]);
    });

    describe("pages", () => {
      const ids = (list: InstanceRecord[]) => list.map((r) => r.correlationId);
      const positionOf = (r: InstanceRecord) => ({ startedAt: r.startedAt, correlationId: r.correlationId });
      /** Every page of `size` from the start, each continuing after the previous page's last instance. */
      async function pages(options: Omit<ListOptions, "after" | "limit">, size: number): Promise<string[][]> {
        const all: string[][] = [];
        let after: ListOptions["after"];
        for (;;) {
          const page = await journal.list({ ...options, after, limit: size });
          if (page.length === 0) return all;
          all.push(ids(page));
          after = positionOf(page[page.length - 1] as InstanceRecord);
        }
      }
      /** Newest started first, ties by id in byte order. */
      const newestFirst = (a: InstanceRecord, b: InstanceRecord) =>
        b.startedAt - a.startedAt || (a.correlationId < b.correlationId ? -1 : a.correlationId > b.correlationId ? 1 : 0);

      it("pages through more instances than a page; those of one millisecond are neither skipped nor repeated", async () => {
        const machine = `m-${randomUUID()}`;
        // Three, then four started in the same millisecond (a bulk start claims a batch at one time).
        const older = [record({ machineName: machine }), record({ machineName: machine }), record({ machineName: machine })];
        clock.advance(1);
        const newer = [1, 2, 3, 4].map(() => record({ machineName: machine }));
        await journal.createInstances([...older, record({ machineName: `other-${randomUUID()}` }), ...newer]);
        const expected = [...older, ...newer].sort(newestFirst).map((r) => r.correlationId);
        expect(ids(await journal.list({ machineName: machine }))).toEqual(expected);
        for (const size of [1, 2, 3, 7]) expect((await pages({ machineName: machine }, size)).flat(), `pages of ${size}`).toEqual(expected);
        expect(await pages({ machineName: machine }, 3)).toEqual([expected.slice(0, 3), expected.slice(3, 6), expected.slice(6)]);
        // Without a machine filter the same order holds over every instance.
        const everyone = (await pages({}, 4)).flat();
        expect(new Set(everyone).size).toBe(everyone.length);
        expect(everyone.filter((id) => expected.includes(id))).toEqual(expected);
      });

      it("pages by machine and status, from a position whose instance changed status or is gone", async () => {
        const machine = `m-${randomUUID()}`;
        const running = [1, 2, 3, 4, 5].map(() => record({ machineName: machine }));
        const done = [1, 2].map(() => record({ machineName: machine, status: "completed" }));
        await journal.createInstances([...running, ...done]);
        const expected = [...running].sort(newestFirst);
        const first = await journal.list({ machineName: machine, status: "running", limit: 2 });
        expect(ids(first)).toEqual(ids(expected.slice(0, 2)));
        // The page's last instance finishes, and the one after it is deleted: the next page still
        // starts right after the position, at the instance after the deleted one.
        const [, last, gone] = expected as [InstanceRecord, InstanceRecord, InstanceRecord];
        await journal.updateInstance(last.correlationId, { machineName: machine, status: "completed", state: "end", userContext: {}, reason: undefined, steps: 1 });
        await journal.deleteInstance(gone.correlationId);
        const rest = await journal.list({ machineName: machine, status: "running", after: positionOf(last), limit: 10 });
        expect(ids(rest)).toEqual(ids(expected.slice(3)));
        expect(ids(await journal.list({ machineName: machine, status: "completed", after: positionOf(gone) }))).toEqual(
          ids([...done].sort(newestFirst).filter((r) => newestFirst(r, gone) > 0)),
        );
        // A position past the oldest instance: nothing more.
        expect(await journal.list({ machineName: machine, after: { startedAt: clock.now() - 1, correlationId: "" } })).toEqual([]);
      });

      describe("filters", () => {
        /** One machine's instances in several states, statuses and versions, ids under one prefix; newest first. */
        async function seed() {
          const tag = randomUUID();
          const machine = `m-${tag}`;
          const [v1, v2, review] = [`v1-${tag}`, `v2-${tag}`, `review-${tag}`];
          const made: InstanceRecord[] = [];
          const spec: [status: StoredStatus, state: string, version: string | undefined][] = [
            ["waiting", review, v1],
            ["completed", "done", v1],
            ["waiting", review, v2],
            ["failed", review, v2],
            ["running", "start", undefined],
            ["waiting", review, v1],
            ["completed", "done", v2],
            ["waiting", review, v1],
          ];
          for (const [at, [status, state, version]] of spec.entries()) {
            // Two per millisecond, so pages also split ties.
            if (at % 2 === 0) clock.advance(1);
            made.push(record({ correlationId: `${tag}/${at}`, machineName: machine, status, state, version }));
          }
          await journal.createInstances([...made, record({ machineName: `other-${tag}`, state: review, version: v1 })]);
          // The last waiting one is paused: it lists as paused, not as waiting.
          await journal.setPaused(`${tag}/7`, true);
          const shown = made.map((r) => (r.correlationId === `${tag}/7` ? { ...r, status: "paused" as const } : r)).sort(newestFirst);
          return { tag, machine, v1, v2, review, shown };
        }

        it("filters by state, version, status and id prefix, alone and combined, newest first", async () => {
          const { tag, machine, v1, v2, review, shown } = await seed();
          const expected = (keep: (r: InstanceRecord) => boolean) => ids(shown.filter(keep));
          const listed = async (options: ListOptions) => ids(await journal.list(options));
          expect(await listed({ machineName: machine, state: review })).toEqual(expected((r) => r.state === review));
          // A state alone (no machine) finds the other machine's instance in it too.
          expect((await listed({ state: review })).filter((id) => id.startsWith(tag))).toEqual(expected((r) => r.state === review));
          expect((await listed({ state: review })).length).toBe(expected((r) => r.state === review).length + 1);
          expect(await listed({ machineName: machine, version: v2 })).toEqual(expected((r) => r.version === v2));
          expect(await listed({ version: v2 })).toEqual(expected((r) => r.version === v2));
          expect(await listed({ machineName: machine, version: null })).toEqual(expected((r) => r.version === undefined));
          expect(await listed({ idPrefix: `${tag}/` })).toEqual(ids(shown));
          expect(await listed({ idPrefix: `${tag}/1` })).toEqual([`${tag}/1`]);
          expect(await listed({ idPrefix: tag, status: "failed" })).toEqual([`${tag}/3`]);
          expect(await listed({ machineName: machine, status: "waiting", state: review })).toEqual(expected((r) => r.status === "waiting"));
          expect(await listed({ machineName: machine, status: "paused", state: review })).toEqual([`${tag}/7`]);
          expect(await listed({ idPrefix: tag, status: "paused" })).toEqual([`${tag}/7`]);
          expect(await listed({ machineName: machine, state: review, version: v1, status: "waiting" })).toEqual(
            expected((r) => r.version === v1 && r.status === "waiting"),
          );
          expect(await listed({ machineName: machine, state: "done", idPrefix: `${tag}/6` })).toEqual([`${tag}/6`]);
          expect(await listed({ machineName: machine, state: "nowhere" })).toEqual([]);
          expect(await listed({ machineName: `other-${tag}`, idPrefix: tag })).toEqual([]);
          // The empty prefix filters nothing.
          expect(await listed({ machineName: machine, idPrefix: "" })).toEqual(ids(shown));
        });

        it("pages with filters, each page continuing after the last", async () => {
          const { tag, machine, review, shown } = await seed();
          const waiting = ids(shown.filter((r) => r.state === review && r.status !== "paused"));
          for (const size of [1, 2, 3]) {
            expect((await pages({ machineName: machine, state: review, status: "waiting" }, size)).flat(), `pages of ${size}`).toEqual(
              ids(shown.filter((r) => r.status === "waiting")),
            );
            expect((await pages({ idPrefix: `${tag}/`, state: review }, size)).flat()).toEqual(ids(shown.filter((r) => r.state === review)));
            expect((await pages({ state: review, idPrefix: tag }, size)).flat().filter((id) => waiting.includes(id))).toEqual(waiting);
          }
        });

        it("takes an id prefix literally: %, _ and backslash match only themselves", async () => {
          const tag = randomUUID();
          const names = ["a%b_1", "a%b_2", "axb_3", "a%bx4", "a%b\\5", "a\\%6", "ab", "é1", "é2", "ê3", "a%", "a"];
          const made = names.map((name) => record({ correlationId: `${tag}/${name}` }));
          await journal.createInstances(made);
          const found = async (prefix: string) => (await journal.list({ idPrefix: `${tag}/${prefix}` })).map((r) => r.correlationId.slice(tag.length + 1)).sort();
          expect(await found("a%b_")).toEqual(["a%b_1", "a%b_2"]);
          expect(await found("a%b")).toEqual(["a%b\\5", "a%b_1", "a%b_2", "a%bx4"]);
          expect(await found("a_")).toEqual([]);
          expect(await found("a%")).toEqual(["a%", "a%b\\5", "a%b_1", "a%b_2", "a%bx4"]);
          expect(await found("a\\")).toEqual(["a\\%6"]);
          expect(await found("a%b\\")).toEqual(["a%b\\5"]);
          expect(await found("é")).toEqual(["é1", "é2"]);
          expect(await found("%")).toEqual([]);
          expect((await found("")).length).toBe(names.length);
        });
      });
    });
    describe("controls", () => {
      const update = (id: string, steps: number, status: StoredStatus, extra: { reason?: string; abortStep?: number } = {}) =>
        journal.updateInstance(id, { machineName: "tracer", status, state: `state${steps}`, userContext: { steps }, reason: extra.reason, steps, abortStep: extra.abortStep });
      const parked = (correlationId: string, steps: number, overrides: Partial<ParkedMessage> = {}): ParkedMessage => ({
        correlationId,
        machineName: "tracer",
        state: "charging",
        steps,
        retries: 0,
        body: `{"steps":${steps}}`,
        parkedAt: clock.now(),
        ...overrides,
      });

      it("reads an instance's controls in one call; undefined for an unknown instance", async () => {
        const put = record();
        await journal.createInstances([put]);
        await update(put.correlationId, 2, "waiting");
        expect(await journal.control(put.correlationId, "tracer", "state2")).toEqual({ status: "waiting", steps: 2, paused: false });
        expect(await journal.control(randomUUID(), "tracer", "state2")).toBeUndefined();
      });

      it("asks for an abort once, never of a finished or unknown instance", async () => {
        const [live, done] = [record(), record()];
        await journal.createInstances([live, done]);
        await update(done.correlationId, 3, "completed");
        expect(await journal.requestAbort(live.correlationId, "customer cancelled", clock.now())).toBe(true);
        clock.advance(5);
        expect(await journal.requestAbort(live.correlationId, "again", clock.now())).toBe(false);
        const asked = { reason: "customer cancelled", at: clock.now() - 5 };
        expect((await journal.getInstance(live.correlationId))?.abort).toEqual(asked);
        expect(await journal.control(live.correlationId, "tracer", "x")).toEqual({ status: "running", steps: 0, paused: false, abort: asked });
        expect(await journal.requestAbort(done.correlationId, "late", clock.now())).toBe(false);
        expect((await journal.getInstance(done.correlationId))?.abort).toBeUndefined();
        expect(await journal.requestAbort(randomUUID(), "nobody", clock.now())).toBe(false);
      });

      it("records the step that entered the abort state, and keeps aborted final", async () => {
        const put = record();
        await journal.createInstances([put]);
        await journal.requestAbort(put.correlationId, "stop", 7);
        await update(put.correlationId, 3, "running", { abortStep: 3 });
        expect((await journal.getInstance(put.correlationId))?.abort).toEqual({ reason: "stop", at: 7, step: 3 });
        await update(put.correlationId, 4, "aborted", { reason: "stop" });
        expect(await journal.getInstance(put.correlationId)).toMatchObject({ status: "aborted", reason: "stop", steps: 4, abort: { reason: "stop", at: 7, step: 3 } });
        await update(put.correlationId, 4, "running");
        await update(put.correlationId, 4, "waiting");
        expect(await journal.getInstance(put.correlationId)).toMatchObject({ status: "aborted", steps: 4 });
        expect(await journal.requestAbort(put.correlationId, "twice", 8)).toBe(false);
      });

      it("shows a paused instance as paused over its stored status, and lists it so", async () => {
        const machine = `m-${randomUUID()}`;
        const [held, free] = [record({ machineName: machine }), record({ machineName: machine })];
        await journal.createInstances([held, free]);
        for (const id of [held.correlationId, free.correlationId]) {
          await journal.updateInstance(id, { machineName: machine, status: "waiting", state: "review", userContext: {}, reason: undefined, steps: 2 });
        }
        expect(await journal.setPaused(held.correlationId, true)).toBe(true);
        expect(await journal.getInstance(held.correlationId)).toMatchObject({ status: "paused", pausedStatus: "waiting", paused: true });
        expect((await journal.control(held.correlationId, machine, "review"))?.paused).toBe(true);
        const ids = async (status: "paused" | "waiting") => (await journal.list({ machineName: machine, status })).map((r) => r.correlationId);
        expect(await ids("paused")).toEqual([held.correlationId]);
        expect(await ids("waiting")).toEqual([free.correlationId]);
        expect(await journal.setPaused(held.correlationId, false)).toBe(true);
        const resumed = await journal.getInstance(held.correlationId);
        expect(resumed).toMatchObject({ status: "waiting" });
        expect(resumed?.paused).toBeUndefined();
        expect(resumed?.pausedStatus).toBeUndefined();
        expect(await journal.setPaused(randomUUID(), true)).toBe(false);
        // A finished instance is finished, paused or not.
        await journal.updateInstance(free.correlationId, { machineName: machine, status: "completed", state: "done", userContext: {}, reason: undefined, steps: 3 });
        await journal.setPaused(free.correlationId, true);
        expect((await journal.getInstance(free.correlationId))?.status).toBe("completed");
      });

      it("parks a message only while its instance is paused; parking it again replaces it", async () => {
        const put = record();
        await journal.createInstances([put]);
        const id = put.correlationId;
        expect(await journal.park(parked(id, 1))).toBe(false);
        expect(await journal.parkedMessages({ correlationId: id })).toEqual([]);
        await journal.setPaused(id, true);
        expect(await journal.park(parked(id, 1))).toBe(true);
        clock.advance(1);
        expect(await journal.park(parked(id, 1, { body: "replaced" }))).toBe(true);
        expect(await journal.park(parked(id, 1, { retries: 1 }))).toBe(true);
        expect(await journal.parkedMessages({ correlationId: id })).toEqual([parked(id, 1, { body: "replaced" }), parked(id, 1, { retries: 1 })]);
        // Unpaused with messages still parked (a resume that has not sent them all yet): still paused.
        await journal.setPaused(id, false);
        expect(await journal.getInstance(id)).toMatchObject({ status: "paused", pausedStatus: "running", parked: 2 });
        await journal.unpark(id, 1, 0);
        await journal.unpark(id, 1, 1);
        await journal.unpark(id, 9, 9);
        const after = await journal.getInstance(id);
        expect(after?.status).toBe("running");
        expect(after?.parked).toBeUndefined();
      });

      it("holds a machine's instances at one state, or at every state", async () => {
        const machine = `m-${randomUUID()}`;
        const put = record({ machineName: machine });
        await journal.createInstances([put]);
        const id = put.correlationId;
        await journal.addPause({ machineName: machine, state: "charging" });
        await journal.addPause({ machineName: machine, state: "charging" });
        expect((await journal.control(id, machine, "charging"))?.paused).toBe(true);
        expect((await journal.control(id, machine, "packing"))?.paused).toBe(false);
        expect(await journal.park(parked(id, 1, { machineName: machine, state: "packing" }))).toBe(false);
        expect(await journal.park(parked(id, 1, { machineName: machine, state: "charging" }))).toBe(true);
        await journal.addPause({ machineName: machine });
        expect((await journal.control(id, machine, "packing"))?.paused).toBe(true);
        expect((await journal.pauses()).filter((rule) => rule.machineName === machine)).toEqual([{ machineName: machine }, { machineName: machine, state: "charging" }]);
        expect(await journal.park(parked(id, 2, { machineName: machine, state: "packing" }))).toBe(true);
        expect((await journal.parkedMessages({ machineName: machine, state: "charging" })).map((m) => m.steps)).toEqual([1]);
        expect((await journal.parkedMessages({ machineName: machine })).map((m) => m.steps)).toEqual([1, 2]);
        expect(await journal.removePause({ machineName: machine })).toBe(true);
        expect(await journal.removePause({ machineName: machine })).toBe(false);
        expect(await journal.removePause({ machineName: machine, state: "charging" })).toBe(true);
        expect((await journal.pauses()).filter((rule) => rule.machineName === machine)).toEqual([]);
        expect((await journal.control(id, machine, "charging"))?.paused).toBe(false);
      });

      it("reopens a failed instance for a redrive, and nothing else", async () => {
        const [failed, running] = [record(), record()];
        await journal.createInstances([failed, running]);
        await update(failed.correlationId, 3, "failed", { reason: "gave up" });
        expect(await journal.reopen(failed.correlationId, 2)).toBe(true);
        const reopened = await journal.getInstance(failed.correlationId);
        expect(reopened).toMatchObject({ status: "running", steps: 2 });
        expect(reopened?.reason).toBeUndefined();
        expect(await journal.reopen(running.correlationId, 0)).toBe(false);
        expect(await journal.reopen(randomUUID(), 0)).toBe(false);
      });

      it("lists instances not updated since a time (stalled candidates)", async () => {
        const machine = `m-${randomUUID()}`;
        const old = record({ machineName: machine });
        await journal.createInstances([old]);
        clock.advance(60_000);
        const fresh = record({ machineName: machine });
        await journal.createInstances([fresh]);
        const ids = (await journal.list({ machineName: machine, status: "running", updatedBefore: clock.now() - 30_000 })).map((r) => r.correlationId);
        expect(ids).toEqual([old.correlationId]);
      });

      it("deletes an instance's parked messages with it, and keeps a message's origin and due time", async () => {
        const put = record();
        await journal.createInstances([put]);
        await journal.setPaused(put.correlationId, true);
        await journal.park(parked(put.correlationId, 1));
        const timer: JournalMessage = { ...entry(1), origin: "timer", due: clock.now() + 172_800_000 };
        await journal.appendMessage(put.correlationId, timer);
        expect(await journal.history(put.correlationId)).toEqual([timer]);
        await journal.deleteInstance(put.correlationId);
        expect(await journal.parkedMessages({ correlationId: put.correlationId })).toEqual([]);
      });
    });
  });
}

/**
 * `activity`: instance counts per machine and step latencies per machine and state, with exact
 * numbers from messages sent at known times (docs/cli.md#metrics defines each figure).
 */
function journalStateCountsContract(name: string, factory: PortFactory<JournalPort>): void {
  describe(`${name}: journal state counts`, () => {
    let clock: TestClock;
    let fixture: PortFixture<JournalPort>;
    let journal: JournalPort;
    beforeEach(async () => {
      clock = new TestClock();
      fixture = await factory(clock);
      journal = fixture.port;
    });
    afterEach(() => fixture.cleanup());

    it("counts instances per machine, version, state and status as users see it, paused apart", async () => {
      const tag = randomUUID();
      const [m1, m2, v1, v2] = [`m1-${tag}`, `m2-${tag}`, `v1-${tag}`, `v2-${tag}`];
      const made: InstanceRecord[] = [];
      const add = (machineName: string, version: string | undefined, state: string, status: StoredStatus) => {
        clock.advance(1);
        const put: InstanceRecord = { correlationId: `${tag}/${made.length}`, machineName, version, state, status, userContext: {}, startedAt: clock.now(), updatedAt: clock.now() };
        made.push(put);
        return put.correlationId;
      };
      add(m1, v1, "review", "waiting");
      add(m1, v1, "review", "waiting");
      const paused = add(m1, v1, "review", "waiting");
      add(m1, v1, "done", "completed");
      add(m1, v2, "review", "waiting");
      add(m1, v2, "done", "completed");
      const resting = add(m2, undefined, "start", "running");
      add(m2, undefined, "done", "completed");
      await journal.createInstances(made);
      await journal.setPaused(paused, true);
      // An update moves the instance's count to its new state and status.
      await journal.updateInstance(resting, { machineName: m2, status: "waiting", state: "approval", userContext: {}, reason: undefined, steps: 1 });
      const first = [
        { machineName: m1, version: v1, state: "done", status: "completed", count: 1 },
        { machineName: m1, version: v1, state: "review", status: "paused", count: 1 },
        { machineName: m1, version: v1, state: "review", status: "waiting", count: 2 },
        { machineName: m1, version: v2, state: "done", status: "completed", count: 1 },
        { machineName: m1, version: v2, state: "review", status: "waiting", count: 1 },
      ];
      const second = [
        { machineName: m2, version: null, state: "approval", status: "waiting", count: 1 },
        { machineName: m2, version: null, state: "done", status: "completed", count: 1 },
      ];
      expect(await journal.stateCounts({ machineName: m1 })).toEqual({ counts: first });
      expect(await journal.stateCounts({ machineName: m2 })).toEqual({ counts: second });
      const all = await journal.stateCounts({});
      expect(all.counts.filter((c) => c.machineName.endsWith(tag))).toEqual([...first, ...second]);
      expect(await journal.stateCounts({ machineName: `none-${tag}` })).toEqual({ counts: [] });
    });
  });
}

function journalActivityContract(name: string, factory: PortFactory<JournalPort>): void {
  describe(`${name}: journal activity`, () => {
    let clock: TestClock;
    let fixture: PortFixture<JournalPort>;
    let journal: JournalPort;

    beforeEach(async () => {
      clock = new TestClock();
      fixture = await factory(clock);
      journal = fixture.port;
    });
    afterEach(() => fixture.cleanup());

    const start = async (machineName: string, messages: JournalMessage[]): Promise<string> => {
      const id = randomUUID();
      await journal.createInstances([
        { correlationId: id, machineName, status: "running", state: "pseudo_init", userContext: {}, startedAt: clock.now(), updatedAt: clock.now() },
      ]);
      // One at a time: DynamoDB orders a step's messages by append.
      for (const message of messages) await journal.appendMessage(id, message);
      return id;
    };
    const end = (id: string, machineName: string, status: StoredStatus, steps: number) =>
      journal.updateInstance(id, { machineName, status, state: "end", userContext: {}, reason: undefined, steps });
    const row = (machineName: string, state: string, processed: number, [p50, p90, p99, max]: number[]): StateActivity =>
      ({ machineName, state, processed, p50, p90, p99, max }) as StateActivity;

    it("times each processing from its message to the next the processing sent, or to the end of an ended instance, and counts instances per machine", async () => {
      const machine = `m-${randomUUID()}`;
      const other = `other-${randomUUID()}`;
      const t = clock.now();
      // Ended before the window: neither counted nor timed with --since.
      const old = await start(machine, [sent(0, "pseudo_init", t), sent(1, "s1", t + 10)]);
      clock.advance(50);
      await end(old, machine, "completed", 1);
      clock.advance(10_000 - 50);
      const s = clock.now();

      const completed = await start(machine, [sent(0, "pseudo_init", s), sent(1, "s1", s + 100), sent(2, "s2", s + 400)]);
      // A failed attempt is timed to its retry, the retry to the instance's failure.
      const failed = await start(machine, [sent(0, "pseudo_init", s + 10), sent(1, "s1", s + 30), sent(1, "s1", s + 80, { retries: 1 })]);
      // A timer counts from when it fell due; a message followed by an external event is not timed,
      // and neither is the last message of an instance that has not ended.
      const waiting = await start(machine, [
        sent(0, "pseudo_init", s),
        sent(1, "s1", s + 200),
        sent(2, "s2", s + 250, { origin: "timer", due: s + 600, current_event: "$timer" }),
        sent(3, "s3", s + 700),
        sent(4, "s4", s + 900, { origin: "event" }),
      ]);
      // Clocks of two processes may disagree: never below 0.
      const paused = await start(machine, [sent(0, "pseudo_init", s + 5), sent(1, "s1", s + 1)]);
      await start(machine, [sent(0, "pseudo_init", s + 50)]);
      // 101 processings in state loop taking 1, 2, ... 101 ms.
      await start(
        machine,
        Array.from({ length: 102 }, (_, k) => sent(k, "loop", s + (k * (k + 1)) / 2)),
      );
      const aborted = await start(machine, [sent(0, "pseudo_init", s)]);
      const elsewhere = await start(other, [sent(0, "pseudo_init", s), sent(1, "s1", s + 7)]);

      clock.advance(1_000);
      await end(completed, machine, "completed", 2);
      await end(failed, machine, "failed", 1);
      await end(aborted, machine, "aborted", 0);
      await end(elsewhere, other, "completed", 1);
      await end(waiting, machine, "waiting", 4);
      await end(paused, machine, "running", 1);
      await journal.setPaused(paused, true);

      const windowed = await journal.activity({ machineName: machine, since: s });
      expect(windowed).toEqual({
        machines: [{ machineName: machine, completed: 1, failed: 1, aborted: 1, running: 2, waiting: 1, paused: 1 }],
        states: [
          row(machine, "loop", 101, [51, 91, 100, 101]),
          row(machine, "pseudo_init", 5, [100, 1000, 1000, 1000]),
          row(machine, "s1", 4, [50, 920, 920, 920]),
          row(machine, "s2", 2, [100, 600, 600, 600]),
        ],
      });
      // pseudo_init: 0 (paused), 20 (failed), 100 (completed), 200 (waiting), 1000 (aborted).
      // s1: 50 (failed, to its retry), 50 (waiting), 300 (completed), 920 (the retry, to the failure).

      const all = await journal.activity({ machineName: machine });
      expect(all.machines).toEqual([{ machineName: machine, completed: 2, failed: 1, aborted: 1, running: 2, waiting: 1, paused: 1 }]);
      expect(all.states.filter((r) => r.state !== "loop")).toEqual([
        row(machine, "pseudo_init", 6, [20, 1000, 1000, 1000]),
        row(machine, "s1", 5, [50, 920, 920, 920]),
        row(machine, "s2", 2, [100, 600, 600, 600]),
      ]);

      const everyMachine = await journal.activity({ since: s });
      expect(everyMachine.machines).toContainEqual({ machineName: other, completed: 1, failed: 0, aborted: 0, running: 0, waiting: 0, paused: 0 });
      expect(everyMachine.states.filter((r) => r.machineName === other)).toEqual([
        row(other, "pseudo_init", 1, [7, 7, 7, 7]),
        row(other, "s1", 1, [993, 993, 993, 993]),
      ]);
      expect(everyMachine.states.filter((r) => r.machineName === machine)).toEqual(windowed.states);
      expect(everyMachine.capped).toBeUndefined();
    });

    it("reports nothing for a machine without instances", async () => {
      expect(await journal.activity({ machineName: `none-${randomUUID()}` })).toEqual({ machines: [], states: [] });
    });
  });
}
