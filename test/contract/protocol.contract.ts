/**
 * The dispatch protocol (SPEC §3) pinned by exact traces. Every backend configuration runs this
 * same suite: call `describeProtocol` with a {@link ProtocolBackend}.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { Engine } from "../../src/engine/engine.js";
import { PayloadTooLargeError } from "../../src/errors.js";
import type { SettingsConfig } from "../../src/settings/settings.js";
import { type ProtocolBackend, ProtocolHarness } from "../support/protocol-harness.js";
import { setProtocolHook } from "../fixtures/protocol/actions.js";

const dims = (machine_name: string, current_state: string, current_event: string) => ({ machine_name, current_state, current_event });

export function describeProtocol(backend: ProtocolBackend): void {
  describe(`protocol on ${backend.name}`, () => {
    let dir: string;
    let harness: ProtocolHarness | undefined;

    beforeEach(() => {
      dir = mkdtempSync(path.join(tmpdir(), "switchyard-protocol-"));
    });
    afterEach(async () => {
      setProtocolHook(undefined);
      await harness?.close();
      harness = undefined;
      rmSync(dir, { recursive: true, force: true });
    });

    const open = async (extra: Partial<SettingsConfig> = {}) => {
      harness = await ProtocolHarness.open(backend, dir, extra);
      return harness;
    };

    it("simple machine: one message per transition, steps counting up", async () => {
      const h = await open();
      const { correlationId } = await h.sy.start("simple", { context: {} });
      await h.drain();
      expect(await h.trace(correlationId)).toEqual([
        ["pseudo_init", "pseudo_init", 0, 0, "stream", "primary"],
        ["start", "go", 1, 0, "stream", "primary"],
        ["middle", "go", 2, 0, "stream", "primary"],
      ]);
      expect(await h.errors(correlationId)).toEqual([]);
      const status = await h.sy.status(correlationId);
      expect(status).toMatchObject({ status: "completed", state: "end", userContext: { count: 2 } });
    });

    it("looping machine: a state that transitions to itself", async () => {
      const h = await open();
      const { correlationId } = await h.sy.start("looping", { context: { loops: 3 } });
      await h.drain();
      expect(await h.trace(correlationId)).toEqual([
        ["pseudo_init", "pseudo_init", 0, 0, "stream", "primary"],
        ["loop", "again", 1, 0, "stream", "primary"],
        ["loop", "again", 2, 0, "stream", "primary"],
        ["loop", "done", 3, 0, "stream", "primary"],
      ]);
      expect(await h.sy.status(correlationId)).toMatchObject({ status: "completed", state: "end", userContext: { count: 3 } });
    });

    it("actions run exit → transition action → entry → do", async () => {
      const h = await open();
      const { correlationId } = await h.sy.start("phases");
      await h.drain();
      expect((await h.sy.status(correlationId)).userContext).toEqual({
        log: ["TraceEntry:one", "TraceDo:one", "TraceExit:one", "TraceAction:one", "TraceEntry:two"],
      });
    });

    it("failures at given (steps, retries) are retried from the original message", async () => {
      const h = await open();
      const { correlationId } = await h.sy.start("simple", { context: { fail: ["0:0", "1:0", "1:1"] } });
      await h.drain();
      expect(await h.trace(correlationId)).toEqual([
        ["pseudo_init", "pseudo_init", 0, 0, "stream", "primary"],
        ["pseudo_init", "pseudo_init", 0, 1, "retry", "primary"],
        ["start", "go", 1, 0, "stream", "primary"],
        ["start", "go", 1, 1, "retry", "primary"],
        ["start", "go", 1, 2, "retry", "primary"],
        ["middle", "go", 2, 0, "stream", "primary"],
      ]);
      expect(await h.errors(correlationId)).toEqual([
        { counters: { retry: 1 }, dimensions: dims("simple", "pseudo_init", "pseudo_init") },
        { counters: { retry: 1 }, dimensions: dims("simple", "start", "go") },
        { counters: { retry: 1 }, dimensions: dims("simple", "start", "go") },
      ]);
      // The failed attempts' changes were discarded: one count per successful do_action.
      expect(await h.sy.status(correlationId)).toMatchObject({ status: "completed", userContext: { count: 2 } });
    });

    it("max_retries exhausted: fatal, and the instance is failed", async () => {
      const h = await open();
      const { correlationId } = await h.sy.start("simple", { context: { fail: ["1:0", "1:1", "1:2"] } });
      await h.drain();
      expect(await h.trace(correlationId)).toEqual([
        ["pseudo_init", "pseudo_init", 0, 0, "stream", "primary"],
        ["start", "go", 1, 0, "stream", "primary"],
        ["start", "go", 1, 1, "retry", "primary"],
        ["start", "go", 1, 2, "retry", "primary"],
      ]);
      expect((await h.errors(correlationId)).map((e) => e.counters)).toEqual([{ retry: 1 }, { retry: 1 }, { fatal: 1 }]);
      const status = await h.sy.status(correlationId);
      expect(status.status).toBe("failed");
      expect(status.state).toBe("start");
      expect(status.reason).toBe("gave up after 2 retries: middle.do_action ./actions.ts#Go threw: injected failure at steps 1, retries 2");
      expect(await h.sy.pending()).toBe(0);
    });

    it("every failed attempt is journaled with its time, the action that threw and the user's frames; the reason names the action", async () => {
      const h = await open();
      const startedAt = h.clock.now();
      const { correlationId } = await h.sy.start("simple", { context: { fail: ["1:0", "1:1", "1:2"] } });
      expect(await h.step()).toBe(true); // pseudo_init → start, sends (start, go, 1)
      // One attempt at a time, a minute apart (past any backoff), so each one's time is the test
      // clock's while it ran.
      const times: number[] = [];
      for (let attempt = 0; attempt < 3; attempt++) {
        if (attempt > 0) h.clock.advance(61_000);
        while (!(await h.step())) h.clock.advance(61_000);
        times.push(h.clock.now());
      }
      expect(await h.sy.pending()).toBe(0);
      expect(times[1]).toBeGreaterThan(times[0] as number);
      // The message is (start, go); the action that threw is the do_action of the state it enters.
      const attempts = await h.sy.attempts(correlationId);
      expect(attempts).toEqual(
        [0, 1, 2].map((retries) => ({
          at: times[retries],
          current_state: "start",
          current_event: "go",
          steps: 1,
          retries,
          outcome: retries < 2 ? "retry" : "fatal",
          state: "middle",
          slot: "do_action",
          event: "go",
          action: "./actions.ts#Go",
          where: "middle.do_action ./actions.ts#Go",
          error_name: "Error",
          error: `injected failure at steps 1, retries ${retries}`,
          stack: expect.stringMatching(/^at maybeFail \(.*test\/fixtures\/protocol\/actions\.ts:\d+:\d+\)\nat (Object\.)?Go .*actions\.ts:\d+:\d+\)$/),
        })),
      );
      // Only the user's frames: neither Node's internals nor Switchyard's own.
      for (const { stack } of attempts) expect(stack).not.toMatch(/node:|\/src\/(engine|core)\//);
      const status = await h.sy.status(correlationId);
      expect(status).toMatchObject({ status: "failed", state: "start" });
      expect(status.reason).toBe("gave up after 2 retries: middle.do_action ./actions.ts#Go threw: injected failure at steps 1, retries 2");
      // Every history entry carries the time it was sent; the retries were sent by the failed attempts.
      expect((await h.sy.history(correlationId)).map((m) => [m.steps, m.retries, m.at])).toEqual([
        [0, 0, startedAt],
        [1, 0, startedAt],
        [1, 1, times[0]],
        [1, 2, times[1]],
      ]);
      // The metrics keep the incoming message's dimensions.
      expect((await h.errors(correlationId)).map((e) => e.dimensions)).toEqual(Array(3).fill(dims("simple", "start", "go")));
    });

    it("an exit, transition or entry action that throws is named as the definition names it", async () => {
      const h = await open();
      const expected = {
        FailExit: ["one", "exit_action", "one.exit_action ./actions.ts#FailExit", "FailExit failed in one on go"],
        FailAction: ["one", "action", "one.transitions[go].action ./actions.ts#FailAction", "FailAction failed in one on go"],
        FailEntry: ["two", "entry_action", "two.entry_action ./actions.ts#FailEntry", "FailEntry failed in two on go"],
      };
      for (const [name, [state, slot, where, error]] of Object.entries(expected)) {
        const { correlationId } = await h.sy.start("failing-phases", { context: { fail_in: name } });
        await h.drain();
        expect(await h.sy.attempts(correlationId)).toEqual([
          expect.objectContaining({ steps: 1, retries: 0, outcome: "fatal", state, slot, event: "go", action: `./actions.ts#${name}`, where, error_name: "TypeError", error }),
        ]);
        expect((await h.sy.status(correlationId)).reason).toBe(`gave up after 0 retries: ${where} threw: ${error}`);
      }
    });

    it("a start message in the seed's layout (no max_retries, no lease_timeout) takes max_retries from the definition", async () => {
      const h = await open();
      const correlationId = "seedstart1";
      const body = JSON.stringify({
        version: "0.1",
        system_context: { machine_name: "simple", current_state: "pseudo_init", current_event: "pseudo_init", correlation_id: correlationId, steps: 0, retries: 0 },
        user_context: { fail: ["1:0", "1:1", "1:2", "1:3", "1:4"] },
      });
      await h.sy.roles.stream.primary.send({ correlationId, steps: 0, retries: 0, body, delaySeconds: 0 });
      await h.drain();
      // simple has max_retries 2: two retries, then fatal (with the fixed default of 5 it ran five).
      // (The start message itself is in no history: nothing journaled it.)
      expect((await h.trace(correlationId)).filter(([state]) => state !== "pseudo_init")).toEqual([
        ["start", "go", 1, 0, "stream", "primary"],
        ["start", "go", 1, 1, "retry", "primary"],
        ["start", "go", 1, 2, "retry", "primary"],
      ]);
      expect((await h.errors(correlationId)).map((e) => e.counters)).toEqual([{ retry: 1 }, { retry: 1 }, { fatal: 1 }]);
      expect((await h.sy.status(correlationId)).reason).toMatch(/^gave up after 2 retries/);
    });

    it("primary stream failing (chaos 1.0) fails over to the secondary stream", async () => {
      const h = await open({ chaos: { "stream.primary": 1.0 } });
      const { correlationId } = await h.sy.start("simple");
      await h.drain();
      expect(await h.trace(correlationId)).toEqual([
        ["pseudo_init", "pseudo_init", 0, 0, "stream", "secondary"],
        ["start", "go", 1, 0, "stream", "secondary"],
        ["middle", "go", 2, 0, "stream", "secondary"],
      ]);
      expect(await h.errors(correlationId)).toEqual([
        { counters: { error: 1 }, dimensions: dims("simple", "pseudo_init", "pseudo_init") },
        { counters: { error: 1 }, dimensions: dims("simple", "start", "go") },
      ]);
      expect((await h.sy.status(correlationId)).status).toBe("completed");
    });

    it("both streams failing: dispatch error, the next message goes through the retry role", async () => {
      const h = await open({ chaos: { "stream.primary": 1.0, "stream.secondary": 1.0 } });
      const { correlationId } = await h.sy.start("simple");
      await h.drain();
      expect(await h.trace(correlationId)).toEqual([
        ["pseudo_init", "pseudo_init", 0, 0, "retry", "primary"],
        ["start", "go", 1, 0, "retry", "primary"],
        ["middle", "go", 2, 0, "retry", "primary"],
      ]);
      expect((await h.errors(correlationId)).map((e) => e.counters)).toEqual([
        { error: 2, dispatch: 1 },
        { error: 2, dispatch: 1 },
      ]);
      expect((await h.sy.status(correlationId)).status).toBe("completed");
    });

    it("primary retry failing: the retry is scheduled on the secondary", async () => {
      const h = await open({ chaos: { "retry.primary": 1.0 } });
      const { correlationId } = await h.sy.start("simple", { context: { fail: ["1:0"] } });
      await h.drain();
      expect(await h.trace(correlationId)).toEqual([
        ["pseudo_init", "pseudo_init", 0, 0, "stream", "primary"],
        ["start", "go", 1, 0, "stream", "primary"],
        ["start", "go", 1, 1, "retry", "secondary"],
        ["middle", "go", 2, 0, "stream", "primary"],
      ]);
      expect((await h.errors(correlationId)).map((e) => e.counters)).toEqual([{ retry: 1, error: 1 }]);
    });

    it("both retry stores failing: the retry goes to the stream as a last resort", async () => {
      const h = await open({ chaos: { "retry.primary": 1.0, "retry.secondary": 1.0 } });
      const { correlationId } = await h.sy.start("simple", { context: { fail: ["1:0"] } });
      await h.drain();
      expect(await h.trace(correlationId)).toEqual([
        ["pseudo_init", "pseudo_init", 0, 0, "stream", "primary"],
        ["start", "go", 1, 0, "stream", "primary"],
        ["start", "go", 1, 1, "stream", "primary"],
        ["middle", "go", 2, 0, "stream", "primary"],
      ]);
      expect((await h.errors(correlationId)).map((e) => e.counters)).toEqual([{ retry: 2, error: 2 }]);
    });

    it("primary cache failing: the lease moves to the secondary and stays there", async () => {
      const h = await open({ chaos: { "cache.primary": 1.0 } });
      const { correlationId } = await h.sy.start("simple");
      await h.drain();
      expect(await h.trace(correlationId)).toEqual([
        ["pseudo_init", "pseudo_init", 0, 0, "stream", "primary"],
        ["start", "go", 1, 0, "stream", "primary"],
        ["middle", "go", 2, 0, "stream", "primary"],
      ]);
      // First processing: lease on primary fails (cache), dispatched flag on primary fails (cache).
      // Later ones carry lease_primary: false and only miss the primary dispatched flag.
      expect((await h.errors(correlationId)).map((e) => e.counters)).toEqual([{ cache: 2 }, { cache: 1 }, { cache: 1 }]);
      expect((await h.sy.status(correlationId)).status).toBe("completed");
    });

    it("local loop: all local transitions run in one processing", async () => {
      const h = await open();
      const { correlationId } = await h.sy.start("local-loop", { context: { loops: 3 } });
      await h.drain();
      expect(await h.trace(correlationId)).toEqual([
        ["pseudo_init", "pseudo_init", 0, 0, "stream", "primary"],
        ["spin", "done", 1, 0, "stream", "primary"],
      ]);
      expect(await h.sy.status(correlationId)).toMatchObject({ status: "completed", userContext: { count: 3 } });
    });

    it("a failure inside a local loop retries the whole processing from the original message", async () => {
      const h = await open();
      const { correlationId } = await h.sy.start("local-loop", { context: { loops: 3, fail_at_count: 2 } });
      await h.drain();
      expect(await h.trace(correlationId)).toEqual([
        ["pseudo_init", "pseudo_init", 0, 0, "stream", "primary"],
        ["pseudo_init", "pseudo_init", 0, 1, "retry", "primary"],
        ["spin", "done", 1, 0, "stream", "primary"],
      ]);
      expect((await h.errors(correlationId)).map((e) => e.counters)).toEqual([{ retry: 1 }]);
      // Count 3, not 4: the failed attempt's first count was discarded with its context.
      expect(await h.sy.status(correlationId)).toMatchObject({ status: "completed", userContext: { count: 3 } });
    });

    it("mixed local and non-local transitions", async () => {
      const h = await open();
      const { correlationId } = await h.sy.start("mixed", { context: { next: { a: "x", b: "y", c: "z" } } });
      await h.drain();
      expect(await h.trace(correlationId)).toEqual([
        ["pseudo_init", "pseudo_init", 0, 0, "stream", "primary"],
        ["b", "y", 1, 0, "stream", "primary"],
      ]);
      expect(await h.sy.status(correlationId)).toMatchObject({ status: "completed", state: "d", userContext: { count: 3 } });
    });

    it("duplicate delivery of a processed message: duplicate error, no re-execution", async () => {
      const h = await open();
      const { correlationId } = await h.sy.start("simple");
      await h.drain();
      const [, second] = await h.sy.history(correlationId);
      const replay = {
        version: "0.1",
        system_context: {
          machine_name: "simple",
          current_state: second?.current_state,
          current_event: second?.current_event,
          correlation_id: correlationId,
          steps: 1,
          retries: 0,
          max_retries: 2,
        },
        user_context: second?.user_context,
      };
      await h.sy.roles.stream.primary.send({ correlationId, steps: 1, retries: 0, body: JSON.stringify(replay), delaySeconds: 0 });
      await h.drain();
      expect(h.outcomes.at(-1)).toEqual({ kind: "duplicate", correlationId });
      expect((await h.errors(correlationId)).map((e) => e.counters)).toEqual([{ duplicate: 1 }]);
      expect((await h.trace(correlationId)).length).toBe(3);
      expect((await h.sy.status(correlationId)).userContext).toEqual({ count: 2 });
    });

    it("a lease held by someone else: cache error and a retry", async () => {
      const h = await open();
      h.claimNext = false; // another processor takes step 1's lease between the steps
      const { correlationId } = await h.sy.start("simple");
      expect(await h.step()).toBe(true); // pseudo_init → start, sends (start, go, 1)
      const held = await h.sy.roles.cache.primary.acquireLease(correlationId, 1, 0, 300);
      expect(held.acquired).toBe(true);
      const before = h.clock.now();
      expect(await h.step()).toBe(true);
      // The hand-over wait ran on the engine's clock: pauses of 2, 4, …, 512 ms (2 s at most).
      expect(h.clock.now() - before).toBe(1_022);
      expect(h.outcomes.at(-1)).toEqual({ kind: "retrying", correlationId });
      expect((await h.errors(correlationId)).map((e) => e.counters)).toEqual([{ cache: 1, retry: 1 }]);
      // The attempt that found the lease held is journaled too, at the end of its hand-over wait.
      expect(await h.sy.attempts(correlationId)).toEqual([
        expect.objectContaining({ at: before + 1_022, steps: 1, retries: 0, outcome: "retry", error_name: "LeaseUnavailable" }),
      ]);
      if (held.acquired) await h.sy.roles.cache.primary.releaseLease(correlationId, 1, 0, held.fenceToken);
      await h.drain();
      expect(await h.trace(correlationId)).toEqual([
        ["pseudo_init", "pseudo_init", 0, 0, "stream", "primary"],
        ["start", "go", 1, 0, "stream", "primary"],
        ["start", "go", 1, 1, "retry", "primary"],
        ["middle", "go", 2, 0, "stream", "primary"],
      ]);
      expect((await h.sy.status(correlationId)).status).toBe("completed");
    });

    it("a lease released while the next step waits for it: taken over, no cache error, no retry", async () => {
      const h = await open();
      h.claimNext = false; // another processor takes step 1's lease between the steps
      const { correlationId } = await h.sy.start("simple");
      expect(await h.step()).toBe(true); // pseudo_init → start, sends (start, go, 1)
      // The predecessor still holds the lease while it does its bookkeeping, and lets go 50 ms
      // later (on the engine's clock: during its hand-over wait).
      const held = await h.sy.roles.cache.primary.acquireLease(correlationId, 1, 0, 300);
      if (!held.acquired) throw new Error("could not take the lease");
      h.clock.after(50, () => h.sy.roles.cache.primary.releaseLease(correlationId, 1, 0, held.fenceToken));
      const before = h.clock.now();
      expect(await h.step()).toBe(true);
      expect(h.clock.now() - before).toBe(2 + 4 + 8 + 16 + 32); // taken after the pause that passed 50 ms
      expect(h.outcomes.at(-1)).toEqual({ kind: "dispatched", correlationId });
      await h.drain();
      expect(await h.trace(correlationId)).toEqual([
        ["pseudo_init", "pseudo_init", 0, 0, "stream", "primary"],
        ["start", "go", 1, 0, "stream", "primary"],
        ["middle", "go", 2, 0, "stream", "primary"],
      ]);
      expect(await h.errors(correlationId)).toEqual([]);
    });

    it("a lease left behind by a dead worker: one retry, scheduled for when it expires", async () => {
      const h = await open({ lease_timeout: 300 });
      h.claimNext = false; // the dead worker's lease of step 1 is taken between the steps
      const { correlationId } = await h.sy.start("simple");
      await h.step();
      // A worker took the lease for step 1 and died: nobody will release it.
      await h.sy.roles.cache.primary.acquireLease(correlationId, 1, 0, 300);
      const takenAt = h.clock.now();
      await h.step();
      const [, , retry] = await h.sy.history(correlationId);
      expect(retry).toMatchObject({ current_state: "start", steps: 1, retries: 1, role: "retry" });
      // (The hand-over wait before the retry passed on this clock too: measure from the take.)
      h.clock.advance(takenAt + 299_000 - h.clock.now());
      expect(await h.step()).toBe(false); // not due before the lease expires
      await h.drain();
      expect(h.clock.now() - takenAt).toBeGreaterThanOrEqual(300_000);
      expect((await h.errors(correlationId)).map((e) => e.counters)).toEqual([{ cache: 1, retry: 1 }]);
      expect((await h.sy.status(correlationId)).status).toBe("completed");
    });

    it("an abandoned processing releases its lease and sends nothing; the message runs again at once", async () => {
      const h = await open();
      // The first execution (fence token 1) would take far longer than this test.
      const { correlationId } = await h.sy.start("slow", { context: { first_sleep_ms: 30_000, sleep_ms: 0 } });
      const [source] = h.sy.sources.filter((s) => s.role === "stream" && s.side === "primary");
      const [delivery] = (await source?.receive({ max: 1, visibilityTimeoutSeconds: 30 })) ?? [];
      if (source === undefined || delivery === undefined) throw new Error("the start message should be deliverable");
      const abandon = new AbortController();
      const processing = h.sy.engine.process(delivery, { signal: abandon.signal });
      setTimeout(() => abandon.abort(), 100);
      expect(await processing).toEqual({ kind: "abandoned", correlationId });
      await source.release(delivery, 0);
      expect(await h.trace(correlationId)).toEqual([["pseudo_init", "pseudo_init", 0, 0, "stream", "primary"]]);
      expect(await h.sy.pending()).toBe(1);
      await h.drain();
      expect(h.outcomes).toEqual([{ kind: "dispatched", correlationId }, { kind: "completed", correlationId }]);
      expect(await h.errors(correlationId)).toEqual([]);
      expect(await h.sy.status(correlationId)).toMatchObject({ status: "completed", state: "end" });
    });

    it("an expired lease is taken over", async () => {
      const h = await open({ lease_timeout: 10 });
      const { correlationId } = await h.sy.start("simple");
      await h.step();
      await h.sy.roles.cache.primary.acquireLease(correlationId, 1, 0, 10);
      h.clock.advance(11_000);
      await h.drain();
      expect((await h.errors(correlationId)).map((e) => e.counters)).toEqual([]);
      expect((await h.sy.status(correlationId)).status).toBe("completed");
    });

    it("fence tokens handed to actions increase", async () => {
      const h = await open();
      const { correlationId } = await h.sy.start("looping", { context: { loops: 4, fences: [], fail: ["2:0"] } });
      await h.drain();
      const fences = (await h.sy.status(correlationId)).userContext.fences as number[];
      expect(fences).toHaveLength(4);
      for (let i = 1; i < fences.length; i++) expect(fences[i]).toBeGreaterThan(fences[i - 1] as number);
    });

    it("fence tokens keep growing when the lease moves to the secondary cache, which counts from 0", async () => {
      const before = await open();
      // Stopping hands a claimed next message back as delivered once: its next token would start
      // FENCE_REDELIVERY_GAP higher. This scenario counts tokens one by one across the stop.
      before.claimNext = false;
      const { correlationId } = await before.sy.start("looping", { context: { loops: 6, fences: [] } });
      for (let i = 0; i < 4; i++) expect(await before.step()).toBe(true);
      await before.close();
      // The same stores, now with the primary cache down: every lease is taken on the secondary.
      const h = await open({ chaos: { "cache.primary": 1.0 } });
      await h.drain();
      const fences = (await h.sy.status(correlationId)).userContext.fences as number[];
      expect(fences).toEqual([1, 2, 3, 4, 5, 6]);
    });

    it("a context that cannot be serialized is an action error: retried, not a crash", async () => {
      const h = await open();
      const { correlationId } = await h.sy.start("failures", { context: { next: { start: "cyclic" } } });
      await h.drain();
      expect(await h.trace(correlationId)).toEqual([
        ["pseudo_init", "pseudo_init", 0, 0, "stream", "primary"],
        ["start", "cyclic", 1, 0, "stream", "primary"],
        ["start", "cyclic", 1, 1, "retry", "primary"],
        ["cyclic", "go", 2, 0, "stream", "primary"],
      ]);
      expect((await h.sy.status(correlationId)).status).toBe("completed");
    });

    it("FatalActionError fails the instance at once", async () => {
      const h = await open();
      const { correlationId } = await h.sy.start("failures", { context: { next: { start: "fatal" } } });
      await h.drain();
      expect((await h.trace(correlationId)).length).toBe(2);
      expect((await h.errors(correlationId)).map((e) => e.counters)).toEqual([{ fatal: 1 }]);
      expect(await h.sy.status(correlationId)).toMatchObject({ status: "failed", reason: "action failed fatally: fatal.do_action ./actions.ts#Fatal threw: the order is invalid" });
    });

    it("maxRetryEvent turns the last failed retry into an event", async () => {
      const h = await open();
      const { correlationId } = await h.sy.start("failures", { context: { next: { start: "give_up" } } });
      await h.drain();
      expect(await h.trace(correlationId)).toEqual([
        ["pseudo_init", "pseudo_init", 0, 0, "stream", "primary"],
        ["start", "give_up", 1, 0, "stream", "primary"],
        ["start", "give_up", 1, 1, "retry", "primary"],
        ["giving_up", "gave_up", 2, 0, "stream", "primary"],
      ]);
      expect(await h.sy.status(correlationId)).toMatchObject({ status: "completed", state: "compensated" });
    });

    it("startMany reports per item: a correlation id in use fails, the others start", async () => {
      const h = await open();
      await h.sy.start("simple", { correlationId: "taken" });
      const results = await h.sy.startMany([
        { machineName: "simple", correlationId: "a" },
        { machineName: "simple", correlationId: "taken" },
        { machineName: "simple", correlationId: "a" },
        { machineName: "simple", correlationId: "b" },
      ]);
      expect(results.map((r) => [r.correlationId, r.ok])).toEqual([["a", true], ["taken", false], ["a", false], ["b", true]]);
      const failed = results[1];
      expect(failed?.ok === false && failed.error.message).toBe('an instance with correlation id "taken" already exists (simple, running); choose another id');
      await h.drain();
      for (const id of ["a", "b", "taken"]) expect((await h.sy.status(id)).status).toBe("completed");
    });

    it("a worker faster than start: start neither resets the instance's record nor reorders its history", async () => {
      const h = await open();
      const stream = h.sy.roles.stream.primary;
      const sendBatch = stream.sendBatch.bind(stream);
      // A worker that runs every instance to its end between start's send and start's return (once:
      // a backend's own sends may go through sendBatch too).
      stream.sendBatch = async (messages) => {
        stream.sendBatch = sendBatch;
        const results = await sendBatch(messages);
        await h.drain();
        return results;
      };
      const results = await h.sy.startMany([{ machineName: "simple" }, { machineName: "simple" }]);
      for (const result of results) {
        expect(result.ok).toBe(true);
        expect((await h.trace(result.correlationId)).map(([state, , steps]) => [state, steps])).toEqual([
          ["pseudo_init", 0],
          ["start", 1],
          ["middle", 2],
        ]);
        expect(await h.sy.status(result.correlationId)).toMatchObject({ status: "completed", state: "end", userContext: { count: 2 } });
      }
    });

    it("a start that no stream or retry backend takes fails and leaves its id free", async () => {
      const h = await open({ chaos: { "stream.primary": 1.0, "stream.secondary": 1.0, "retry.primary": 1.0, "retry.secondary": 1.0 } });
      await expect(h.sy.start("simple", { correlationId: "unsent" })).rejects.toThrow(
        "could not start instance unsent: every stream and retry backend failed",
      );
      await expect(h.sy.status("unsent")).rejects.toThrow('no instance with correlation id "unsent"');
      expect(await h.sy.roles.journal?.history("unsent")).toEqual([]);
    });

    it("bulk start while a worker runs: every history in step order, every instance completed", async () => {
      const h = await open();
      let startedAll = false;
      const worker = h.sy.worker({ concurrency: 8, stopWhenIdle: async () => startedAll && (await h.sy.pending()) === 0 });
      const running = worker.run();
      const results = await h.sy.startMany(Array.from({ length: 60 }, () => ({ machineName: "simple" })));
      startedAll = true;
      await running;
      expect(results.filter((r) => !r.ok)).toEqual([]);
      for (const { correlationId } of results) {
        expect((await h.sy.history(correlationId)).map((m) => m.steps), correlationId).toEqual([0, 1, 2]);
        expect(await h.sy.status(correlationId), correlationId).toMatchObject({ status: "completed", state: "end" });
      }
    });

    it("correlation ids: the longest id of every allowed character runs; others are refused with one line", async () => {
      const h = await open();
      const longest = `Az09._:-${"x".repeat(120)}`;
      const { correlationId } = await h.sy.start("simple", { correlationId: longest });
      expect(correlationId).toBe(longest);
      const rule = "use 1 to 128 characters from A-Z a-z 0-9 . _ : -";
      await expect(h.sy.start("simple", { correlationId: "" })).rejects.toThrow(`correlation id is empty; ${rule}`);
      await expect(h.sy.start("simple", { correlationId: `${longest}y` })).rejects.toThrow(
        `correlation id "Az09._:-xxxxxxxxxxxx…" is 129 characters long; ${rule}`,
      );
      await expect(h.sy.start("simple", { correlationId: "order 42" })).rejects.toThrow(`correlation id "order 42" contains " "; ${rule}`);
      await expect(h.sy.start("simple", { correlationId: "{tenant}/42" })).rejects.toThrow(`correlation id "{tenant}/42" contains "{"; ${rule}`);
      const results = await h.sy.startMany([
        { machineName: "simple", correlationId: "ok-1" },
        { machineName: "simple", correlationId: "" },
        { machineName: "simple", correlationId: "ok-2" },
      ]);
      expect(results.map((r) => [r.correlationId, r.ok])).toEqual([["ok-1", true], ["", false], ["ok-2", true]]);
      const refused = results[1];
      expect(refused?.ok === false && refused.error.message).toBe(`correlation id is empty; ${rule}`);
      await h.drain();
      for (const id of [longest, "ok-1", "ok-2"]) {
        expect((await h.sy.status(id)).status).toBe("completed");
        expect((await h.trace(id)).map(([, , steps]) => steps)).toEqual([0, 1, 2]);
      }
      expect(await h.sy.pending()).toBe(0);
    });

    it("obj.delay holds the next message back; additional_delay_seconds is the default", async () => {
      const h = await open();
      const { correlationId } = await h.sy.start("timing", { context: { next: { start: "delay" }, delay: 30 } });
      await h.step(); // pseudo_init → start, next "delay"
      await h.step(); // start → delaying: Delay sets obj.delay = 30 for (delaying, go, 2)
      h.clock.advance(29_000);
      expect(await h.step()).toBe(false);
      h.clock.advance(1_000);
      expect(await h.step()).toBe(true);
      expect((await h.sy.status(correlationId)).status).toBe("completed");

      const { correlationId: delayed } = await h.sy.start("simple", { additionalDelaySeconds: 10 });
      h.clock.advance(9_999);
      expect(await h.step()).toBe(false);
      h.clock.advance(1);
      expect(await h.step()).toBe(true); // pseudo_init → start; its next message waits 10 s too
      h.clock.advance(9_999);
      expect(await h.step()).toBe(false);
      h.clock.advance(1);
      await h.drain();
      expect((await h.sy.status(delayed)).status).toBe("completed");
    });

    it("a do_action that returns nothing leaves the instance waiting in its state", async () => {
      const h = await open();
      const { correlationId } = await h.sy.start("timing", { context: { next: { start: "wait" } } });
      await h.drain();
      expect(h.outcomes.at(-1)).toEqual({ kind: "waiting", correlationId });
      expect(await h.sy.status(correlationId)).toMatchObject({ status: "waiting", state: "waiting", steps: 1 });
      expect(await h.sy.list({ status: "waiting" })).toMatchObject([{ correlationId, status: "waiting" }]);
      expect(await h.errors(correlationId)).toEqual([]);
    });

    it("an event sent to a waiting instance runs as its next step, with its data in event_data", async () => {
      const h = await open();
      const { correlationId } = await h.sy.start("approval", { context: { order: 7 } });
      await h.drain();
      expect(h.outcomes.at(-1)).toEqual({ kind: "waiting", correlationId });
      expect(await h.sy.status(correlationId)).toMatchObject({ status: "waiting", state: "review", steps: 0 });
      const sent = await h.sy.sendEvent(correlationId, "approve", { data: { by: "ana" } });
      expect(sent).toMatchObject({ correlationId, state: "review", event: "approve", steps: 1, sent: { role: "stream", side: "primary" } });
      // Sent, not yet run: the record still says where the instance waits.
      expect(await h.sy.status(correlationId)).toMatchObject({ status: "waiting", state: "review" });
      await h.drain();
      expect(await h.trace(correlationId)).toEqual([
        ["pseudo_init", "pseudo_init", 0, 0, "stream", "primary"],
        ["review", "approve", 1, 0, "stream", "primary"],
      ]);
      expect(await h.errors(correlationId)).toEqual([]);
      expect(await h.sy.status(correlationId)).toMatchObject({
        status: "completed",
        state: "approved",
        steps: 1,
        userContext: { order: 7, event_data: { by: "ana" }, received: [{ by: "ana" }] },
      });
    });

    it("an event for an instance whose lease moved to the secondary cache keeps it there, with its fence tokens growing", async () => {
      const h = await open({ chaos: { "cache.primary": 1.0 } });
      const { correlationId } = await h.sy.start("approval");
      await h.drain();
      // The first processing moved the lease: lease on primary failed (cache), flag on primary failed (cache).
      expect((await h.errors(correlationId)).map((e) => e.counters)).toEqual([{ cache: 2 }]);
      const waiting = await h.sy.status(correlationId);
      expect(waiting).toMatchObject({ status: "waiting", leasePrimary: false, fenceToken: 1 });
      await h.sy.sendEvent(correlationId, "approve");
      await h.drain();
      // The event step leases on the secondary at once: only the primary's dispatched flag fails
      // (a message that named the primary would have failed over again: cache 2).
      expect((await h.errors(correlationId)).map((e) => e.counters)).toEqual([{ cache: 2 }, { cache: 1 }]);
      expect(await h.sy.status(correlationId)).toMatchObject({ status: "completed", leasePrimary: false, fenceToken: 2 });
    });

    it("two events for the same waiting step: exactly one runs, the other is a duplicate, even when the winner waits again", async () => {
      const h = await open();
      const { correlationId } = await h.sy.start("approval");
      await h.drain();
      await h.sy.sendEvent(correlationId, "hold", { data: { n: 1 } });
      await h.sy.sendEvent(correlationId, "hold", { data: { n: 2 } });
      await h.drain();
      expect(await h.trace(correlationId)).toEqual([
        ["pseudo_init", "pseudo_init", 0, 0, "stream", "primary"],
        ["review", "hold", 1, 0, "stream", "primary"],
        ["review", "hold", 1, 0, "stream", "primary"],
      ]);
      expect(h.outcomes.slice(-2).map((o) => o.kind).sort()).toEqual(["duplicate", "waiting"]);
      expect(await h.errors(correlationId)).toEqual([{ counters: { duplicate: 1 }, dimensions: dims("approval", "review", "hold") }]);
      const status = await h.sy.status(correlationId);
      expect(status).toMatchObject({ status: "waiting", state: "held", steps: 1 });
      // Whichever was delivered first ran; the other one's data never reached an action.
      expect([[{ n: 1 }], [{ n: 2 }]]).toContainEqual(status.userContext.received);
    });

    it("an event that leads to another wait, then a second event from there", async () => {
      const h = await open();
      const { correlationId } = await h.sy.start("approval");
      await h.drain();
      await h.sy.sendEvent(correlationId, "hold", { data: "first" });
      await h.drain();
      expect(await h.sy.status(correlationId)).toMatchObject({ status: "waiting", state: "held", steps: 1, userContext: { received: ["first"] } });
      await h.sy.sendEvent(correlationId, "approve");
      await h.drain();
      expect(await h.trace(correlationId)).toEqual([
        ["pseudo_init", "pseudo_init", 0, 0, "stream", "primary"],
        ["review", "hold", 1, 0, "stream", "primary"],
        ["held", "approve", 2, 0, "stream", "primary"],
      ]);
      expect(await h.errors(correlationId)).toEqual([]);
      // An event without data removes the previous event's.
      expect(await h.sy.status(correlationId)).toMatchObject({ status: "completed", state: "approved", steps: 2, userContext: { received: ["first", null] } });
      expect((await h.sy.status(correlationId)).userContext).not.toHaveProperty("event_data");
    });

    it("send refuses with one line: unknown instance, not waiting, no such transition, payload too large", async () => {
      const h = await open();
      await expect(h.sy.sendEvent("nobody", "approve")).rejects.toMatchObject({
        code: "not_found",
        message: expect.stringMatching(/^no instance with correlation id "nobody" in /),
      });
      const { correlationId } = await h.sy.start("approval");
      await expect(h.sy.sendEvent(correlationId, "approve")).rejects.toMatchObject({
        code: "not_waiting",
        message: `instance ${correlationId} is running (state "pseudo_init"), not waiting; events go to waiting instances only`,
      });
      await h.drain();
      await expect(h.sy.sendEvent(correlationId, "nope")).rejects.toMatchObject({
        code: "no_transition",
        message: 'state "review" of machine "approval" has no transition on event "nope"; its events: approve, hold',
      });
      const stream = h.sy.roles.stream.primary;
      const send = stream.send;
      (stream as { send: typeof send }).send = () => Promise.reject(new PayloadTooLargeError("SQS queue q", 300_000, 262_144));
      try {
        await expect(h.sy.sendEvent(correlationId, "approve", { data: "x".repeat(300_000) })).rejects.toBeInstanceOf(PayloadTooLargeError);
      } finally {
        (stream as { send: typeof send }).send = send;
      }
      // Nothing was sent by the refusals.
      expect(await h.sy.pending()).toBe(0);
      expect((await h.trace(correlationId)).length).toBe(1);
      await h.sy.sendEvent(correlationId, "approve");
      await h.drain();
      await expect(h.sy.sendEvent(correlationId, "approve")).rejects.toMatchObject({
        code: "not_waiting",
        message: `instance ${correlationId} is completed (state "approved"), not waiting; events go to waiting instances only`,
      });
    });

    it("send refuses when the journal is switched off", async () => {
      const h = await open({ journal: false });
      await expect(h.sy.sendEvent("any", "approve")).rejects.toMatchObject({
        code: "no_journal",
        message: "the instance journal is switched off (journal: false in the settings); send needs it to know where an instance waits",
      });
    });

    it("an event the next state has no transition for is retried, then fatal", async () => {
      const h = await open();
      const { correlationId: lost } = await h.sy.start("timing", { context: { next: { start: "nope" } } });
      await h.drain();
      expect(await h.trace(lost)).toEqual([
        ["pseudo_init", "pseudo_init", 0, 0, "stream", "primary"],
        ["start", "nope", 1, 0, "stream", "primary"],
        ["start", "nope", 1, 1, "retry", "primary"],
      ]);
      expect((await h.errors(lost)).map((e) => e.counters)).toEqual([{ retry: 1 }, { fatal: 1 }]);
      expect((await h.sy.status(lost)).reason).toBe(
        'gave up after 1 retries: machine "timing" has no transition from state "start" on event "nope"; add it to the definition or return another event',
      );
      // No action threw: the attempts say what failed without naming one.
      expect((await h.sy.attempts(lost)).map((a) => [a.steps, a.retries, a.outcome, a.where, a.error_name])).toEqual([
        [1, 0, "retry", undefined, "TransitionNotFoundError"],
        [1, 1, "fatal", undefined, "TransitionNotFoundError"],
      ]);
    });

    it("a message from another producer: its first processing creates the instance's record, even when it fails", async () => {
      const h = await open();
      // An instance started elsewhere (the seed system, or before the journal was configured), mid-run.
      const body = JSON.stringify({
        version: "0.1",
        system_context: {
          machine_name: "simple",
          current_state: "start",
          current_event: "go",
          correlation_id: "seeded",
          steps: 1,
          retries: 0,
          max_retries: 2,
          started_at: 1_767_225_000.5,
        },
        user_context: { count: 1, fail: ["1:0"] },
      });
      await h.sy.roles.stream.primary.send({ correlationId: "seeded", steps: 1, retries: 0, body, delaySeconds: 0 });
      expect(await h.step()).toBe(true); // fails at (1, 0): a retry is scheduled
      expect(await h.sy.status("seeded")).toMatchObject({
        machineName: "simple",
        status: "running",
        state: "start",
        userContext: { count: 1, fail: ["1:0"] },
        startedAt: 1_767_225_000_500,
      });
      await h.drain();
      expect(await h.trace("seeded")).toEqual([
        ["start", "go", 1, 0, "stream", "primary"],
        ["start", "go", 1, 1, "retry", "primary"],
        ["middle", "go", 2, 0, "stream", "primary"],
      ]);
      expect(await h.sy.status("seeded")).toMatchObject({ status: "completed", state: "end", userContext: { count: 2 } });
    });

    it("a message for a machine this worker does not know goes to the dead letters", async () => {
      const h = await open();
      const body = JSON.stringify({
        version: "0.1",
        system_context: { machine_name: "billing", current_state: "pseudo_init", current_event: "pseudo_init", correlation_id: "b1", steps: 0, retries: 0 },
        user_context: {},
      });
      await h.sy.roles.stream.primary.send({ correlationId: "b1", steps: 0, retries: 0, body, delaySeconds: 0 });
      await h.drain();
      // No definition here and no version in the definition registry (SPEC §10): a dead letter, and the instance failed with why.
      const reason = `unknown machine "billing": this worker knows ${[...h.sy.definitions.machines.keys()].join(", ")} and the definition registry in ${h.sy.roles.journal?.uri} has no version of it; deploy its definition (switchyard deploy -d <file>) or start the worker with it`;
      expect(h.outcomes).toEqual([{ kind: "malformed", reason }]);
      const [letter] = await h.sy.deadLetters();
      expect(letter).toMatchObject({ body, reason });
      expect(await h.sy.status("b1")).toMatchObject({ machineName: "billing", status: "failed", state: "pseudo_init", reason });
    });

    it("an unparseable message goes to the dead letters with its reason", async () => {
      const h = await open();
      await h.sy.roles.stream.primary.send({ correlationId: "x", steps: 0, retries: 0, body: "{not json", delaySeconds: 0 });
      await h.drain();
      expect(h.outcomes).toEqual([{ kind: "malformed", reason: expect.stringMatching(/^message is not valid JSON/) }]);
      expect(await h.sy.pending()).toBe(0);
    });
    describe("operating instances (SPEC §9)", () => {
      const HOURS_48 = 48 * 3600 * 1000;
      const INIT: [string, string, number, number, "stream", "primary"] = ["pseudo_init", "pseudo_init", 0, 0, "stream", "primary"];
      const CHARGED: [string, string, number, number, "stream", "primary"] = ["charging", "charged", 1, 0, "stream", "primary"];
      const TIMER: [string, string, number, number, "retry", "primary"] = ["review", "pseudo_timer", 2, 0, "retry", "primary"];
      /** An expense waiting in review for a decision, its 48 h timer scheduled. */
      const waitingExpense = async (h: ProtocolHarness, context: Record<string, unknown> = {}) => {
        const { correlationId } = await h.sy.start("expense", { context: { next: { charging: "charged" }, ...context } });
        await h.runDue();
        expect(await h.sy.status(correlationId)).toMatchObject({ status: "waiting", state: "review", steps: 1 });
        return correlationId;
      };

      it("a timer: scheduled when the instance starts waiting, it fires after its delay when no event came", async () => {
        const h = await open();
        const id = await waitingExpense(h);
        expect(await h.trace(id)).toEqual([INIT, CHARGED, TIMER]);
        const [timer] = (await h.sy.history(id)).slice(-1);
        expect(timer).toMatchObject({ origin: "timer", due: h.clock.now() + HOURS_48 });
        h.clock.advance(HOURS_48 - 1000);
        await h.runDue();
        expect((await h.sy.status(id)).status).toBe("waiting");
        h.clock.advance(2000);
        await h.runDue();
        expect(await h.sy.status(id)).toMatchObject({ status: "completed", state: "expired", steps: 2, userContext: { log: ["pseudo_timer:review", "pseudo_timer:expired"] } });
        expect(await h.errors(id)).toEqual([]);
        expect(await h.sy.pending()).toBe(0);
      });

      it("an event before the timer: the event runs, the timer is removed and never fires", async () => {
        const h = await open();
        const id = await waitingExpense(h);
        await h.sy.sendEvent(id, "approve");
        await h.runDue();
        expect(await h.sy.status(id)).toMatchObject({ status: "completed", state: "approved", steps: 2 });
        h.clock.advance(HOURS_48 + 1000);
        await h.runDue();
        expect(await h.trace(id)).toEqual([INIT, CHARGED, TIMER, ["review", "approve", 2, 0, "stream", "primary"]]);
        expect(await h.sy.status(id)).toMatchObject({ status: "completed", state: "approved", userContext: { log: ["approve:review", "approve:approved"] } });
        expect(await h.sy.pending()).toBe(0);
      });

      it("an event and a due timer race for the step: the first delivered runs, the other is a duplicate (event first)", async () => {
        const h = await open();
        const id = await waitingExpense(h);
        h.clock.advance(HOURS_48 + 1000);
        await h.sy.sendEvent(id, "approve");
        expect(await h.step("stream")).toBe(true);
        expect(h.outcomes.at(-1)).toEqual({ kind: "completed", correlationId: id });
        await h.runDue();
        expect(await h.trace(id)).toEqual([INIT, CHARGED, TIMER, ["review", "approve", 2, 0, "stream", "primary"]]);
        expect(await h.sy.status(id)).toMatchObject({ status: "completed", state: "approved", steps: 2, userContext: { log: ["approve:review", "approve:approved"] } });
        // The timer, due as well, was removed with the step the event took (or, where a transport
        // cannot remove it, dropped as a duplicate of that step when delivered).
        expect((await h.errors(id)).filter((e) => e.dimensions.current_event !== "pseudo_timer")).toEqual([]);
        expect(await h.sy.pending()).toBe(0);
      });

      it("an event and a due timer race for the step: the first delivered runs, the other is a duplicate (timer first)", async () => {
        const h = await open();
        const id = await waitingExpense(h);
        h.clock.advance(HOURS_48 + 1000);
        await h.sy.sendEvent(id, "approve");
        expect(await h.step("retry")).toBe(true);
        expect(await h.sy.status(id)).toMatchObject({ status: "completed", state: "expired", steps: 2 });
        await h.runDue();
        expect(h.outcomes.at(-1)).toEqual({ kind: "duplicate", correlationId: id });
        expect(await h.trace(id)).toEqual([INIT, CHARGED, TIMER, ["review", "approve", 2, 0, "stream", "primary"]]);
        expect(await h.errors(id)).toEqual([{ counters: { duplicate: 1 }, dimensions: dims("expense", "review", "approve") }]);
        expect((await h.sy.status(id)).userContext.log).toEqual(["pseudo_timer:review", "pseudo_timer:expired"]);
      });

      it("a timer that fires after the instance has moved on is dropped as a duplicate, however late", async () => {
        const h = await open();
        const id = await waitingExpense(h);
        const [timer] = (await h.sy.history(id)).slice(-1);
        await h.sy.sendEvent(id, "approve");
        await h.runDue();
        // A copy of the timer the transport could not remove, delivered a month later.
        h.clock.advance(30 * 24 * 3600 * 1000);
        const status = await h.sy.status(id);
        const body = JSON.stringify({
          version: "0.1",
          system_context: { machine_name: "expense", current_state: "review", current_event: "pseudo_timer", correlation_id: id, steps: timer?.steps, retries: 0, started_at: status.startedAt / 1000 },
          user_context: timer?.user_context,
        });
        const outcome = await h.sy.engine.process({ id: "late-timer", body, receiveCount: 1, role: "retry", side: "primary", handle: undefined });
        expect(outcome).toEqual({ kind: "duplicate", correlationId: id });
        expect(await h.sy.status(id)).toMatchObject({ status: "completed", state: "approved", steps: 2 });
        expect((await h.errors(id)).at(-1)).toEqual({ counters: { duplicate: 1 }, dimensions: dims("expense", "review", "pseudo_timer") });
      });

      it("abort of a waiting instance with compensation: exit_action, then the on_abort state's actions (retried), then aborted", async () => {
        const h = await open();
        const id = await waitingExpense(h, { refund_failures: 1 });
        const result = await h.sy.abort(id, { reason: "customer cancelled" });
        expect(result).toEqual({ correlationId: id, requested: true, reason: "customer cancelled", via: "abort-message" });
        expect(await h.sy.status(id)).toMatchObject({ status: "waiting", abort: { reason: "customer cancelled", at: h.clock.now() } });
        await h.drain();
        expect(await h.trace(id)).toEqual([
          INIT,
          CHARGED,
          TIMER,
          ["review", "pseudo_abort", 2, 0, "stream", "primary"],
          ["review", "pseudo_abort", 2, 1, "retry", "primary"],
          ["refunding", "refunded", 3, 0, "stream", "primary"],
        ]);
        expect((await h.sy.history(id)).find((m) => m.current_event === "pseudo_abort")?.origin).toBe("abort");
        const status = await h.sy.status(id);
        expect(status).toMatchObject({ status: "aborted", state: "refunded", steps: 3, reason: "customer cancelled", abort: { reason: "customer cancelled", step: 2 } });
        expect(status.userContext.log).toEqual(["pseudo_abort:review", "pseudo_abort:refunding", "refund:refunding", "refunded:refunded"]);
        expect((await h.errors(id)).map((e) => e.counters)).toEqual([{ retry: 1 }]);
        // The timer of the state it left never fires.
        h.clock.advance(HOURS_48);
        await h.runDue();
        expect((await h.sy.status(id)).state).toBe("refunded");
        // Aborting again is a no-op; a finished instance is refused.
        expect(await h.sy.abort(id)).toEqual({ correlationId: id, requested: false, reason: "customer cancelled", via: "done" });
        const { correlationId: done } = await h.sy.start("simple");
        await h.drain();
        await expect(h.sy.abort(done)).rejects.toMatchObject({
          code: "finished",
          message: `instance ${done} is completed (state "end"); a finished instance cannot be aborted`,
        });
      });

      it("abort without on_abort: no action runs, the instance ends aborted where it waits", async () => {
        const h = await open();
        const { correlationId: id } = await h.sy.start("approval");
        await h.drain();
        await h.sy.abort(id);
        await h.drain();
        expect(await h.trace(id)).toEqual([INIT, ["review", "pseudo_abort", 1, 0, "stream", "primary"]]);
        expect(h.outcomes.at(-1)).toEqual({ kind: "aborted", correlationId: id });
        expect(await h.sy.status(id)).toMatchObject({ status: "aborted", state: "review", steps: 1, reason: "aborted by an operator" });
        await expect(h.sy.sendEvent(id, "approve")).rejects.toMatchObject({ code: "not_waiting" });
      });

      it("abort while an action runs: it finishes, its outcome is discarded, nothing it dispatched runs; compensation runs instead", async () => {
        const h = await open();
        const { correlationId: id } = await h.sy.start("expense", { context: { next: { charging: "charged" } } });
        setProtocolHook(async (ctx) => {
          ctx.data.charged = true;
          await h.sy.abort(id, { reason: "fraud suspected" });
        });
        await h.drain();
        expect(await h.trace(id)).toEqual([INIT, ["refunding", "refunded", 1, 0, "stream", "primary"]]);
        const status = await h.sy.status(id);
        expect(status).toMatchObject({ status: "aborted", state: "refunded", steps: 1, reason: "fraud suspected", abort: { step: 0 } });
        // The charging action's changes were thrown away with its outcome.
        expect(status.userContext).not.toHaveProperty("charged");
        expect(status.userContext.log).toEqual(["pseudo_abort:refunding", "refund:refunding", "refunded:refunded"]);
      });

      it("pause at a state: the message that reaches it is parked, survives reopening, and resume continues exactly there", async () => {
        let h = await open();
        await h.sy.pauseMachine({ machine: "simple", state: "middle" });
        const { correlationId: id } = await h.sy.start("simple");
        await h.drain();
        expect(h.outcomes.at(-1)).toEqual({ kind: "paused", correlationId: id });
        expect(await h.sy.status(id)).toMatchObject({ status: "paused", pausedStatus: "running", parked: 1, state: "middle" });
        expect(await h.sy.list({ status: "paused" })).toMatchObject([{ correlationId: id }]);
        expect(await h.sy.pending()).toBe(0);
        // A restart changes nothing: the parked message is in the journal.
        await h.close();
        harness = undefined;
        h = await open();
        expect(await h.sy.resumeMachine({ machine: "simple", state: "middle" })).toEqual({ resent: 1, stillHeld: 0 });
        await h.drain();
        expect(await h.trace(id)).toEqual([
          INIT,
          ["start", "go", 1, 0, "stream", "primary"],
          ["middle", "go", 2, 0, "stream", "primary"],
          ["middle", "go", 2, 0, "stream", "primary"],
        ]);
        expect((await h.sy.history(id)).at(-1)?.origin).toBe("resume");
        expect(await h.sy.status(id)).toMatchObject({ status: "completed", state: "end", userContext: { count: 2 } });
        expect(await h.errors(id)).toEqual([]);
      });

      it("pause an instance: an event sent meanwhile is parked; resume runs it, with no retry used", async () => {
        const h = await open();
        const { correlationId: id } = await h.sy.start("approval");
        await h.drain();
        expect(await h.sy.pause(id)).toMatchObject({ status: "paused", pausedStatus: "waiting", paused: true });
        await h.sy.sendEvent(id, "approve", { data: "ok" });
        await h.drain();
        expect(await h.sy.status(id)).toMatchObject({ status: "paused", pausedStatus: "waiting", parked: 1, state: "review" });
        expect(await h.sy.resume(id)).toEqual({ resent: 1, stillHeld: 0 });
        await h.drain();
        expect(await h.trace(id)).toEqual([INIT, ["review", "approve", 1, 0, "stream", "primary"], ["review", "approve", 1, 0, "stream", "primary"]]);
        expect(await h.sy.status(id)).toMatchObject({ status: "completed", state: "approved", userContext: { received: ["ok"] } });
        expect(await h.errors(id)).toEqual([]);
        await expect(h.sy.pause(id)).rejects.toMatchObject({ code: "finished" });
      });

      it("recover a stalled instance whose message was deleted from the transport", async () => {
        const h = await open();
        const { correlationId: id } = await h.sy.start("simple");
        // The start message vanishes (an operator purged the queue).
        const [source] = h.sy.sources.filter((s) => s.role === "stream" && s.side === "primary");
        const [lost] = (await source?.receive({ max: 1, visibilityTimeoutSeconds: 30 })) ?? [];
        if (source === undefined || lost === undefined) throw new Error("the start message was not on the primary stream");
        await source.ack(lost);
        expect(await h.sy.stalled()).toEqual([]);
        h.clock.advance(11 * 60 * 1000);
        const [stalled] = await h.sy.stalled();
        expect(stalled?.record).toMatchObject({ correlationId: id, status: "running" });
        expect(await h.sy.recover(id)).toEqual({ correlationId: id, resent: [{ state: "pseudo_init", event: "pseudo_init", steps: 0, retries: 0, delaySeconds: 0 }] });
        await h.drain();
        expect(await h.trace(id)).toEqual([INIT, INIT, ["start", "go", 1, 0, "stream", "primary"], ["middle", "go", 2, 0, "stream", "primary"]]);
        expect((await h.sy.history(id))[1]?.origin).toBe("recover");
        expect(await h.sy.status(id)).toMatchObject({ status: "completed", state: "end" });
        // Recovering again sends a copy of a step already taken: dropped as a duplicate.
        await expect(h.sy.recover(id)).rejects.toMatchObject({ code: "finished" });
      });

      it("redrive a failed instance: its failed step runs again with retries reset, once the cause is fixed", async () => {
        const h = await open();
        const { correlationId: id } = await h.sy.start("expense", { context: { next: { charging: "charged" } } });
        let broken = true;
        setProtocolHook(() => {
          if (broken) throw new Error("card processor down");
        });
        await h.drain();
        expect(await h.sy.status(id)).toMatchObject({ status: "failed", state: "pseudo_init", steps: 0 });
        broken = false;
        expect(await h.sy.redrive(id)).toMatchObject({ correlationId: id, state: "pseudo_init", event: "pseudo_init", steps: 0 });
        expect((await h.sy.status(id)).status).toBe("running");
        await h.runDue();
        expect(await h.trace(id)).toEqual([
          INIT,
          ...[1, 2, 3, 4, 5].map((retries) => ["pseudo_init", "pseudo_init", 0, retries, "retry", "primary"]),
          INIT,
          CHARGED,
          TIMER,
        ]);
        expect((await h.sy.history(id))[6]?.origin).toBe("redrive");
        expect(await h.sy.status(id)).toMatchObject({ status: "waiting", state: "review", steps: 1 });
        await expect(h.sy.redrive(id)).rejects.toMatchObject({ code: "not_failed", message: `instance ${id} is waiting, not failed; only failed instances can be redriven` });
      });

      it("dead-letter redrive: a message a worker without its machine moved aside runs once the cause is fixed", async () => {
        const h = await open();
        const { correlationId: id } = await h.sy.start("simple");
        // An old worker whose definitions lack the machine, and whose settings have no journal (so
        // no definition registry to fetch it from): the start message goes to the dead letters.
        const machines = new Map([...h.sy.definitions.machines].filter(([name]) => name !== "simple"));
        const old = new Engine({
          definitions: { machines, files: h.sy.definitions.files, get: (name) => h.sy.definitions.get(name) },
          roles: { ...h.sy.roles, journal: undefined },
          clock: h.clock,
        });
        const [source] = h.sy.sources.filter((s) => s.role === "stream" && s.side === "primary");
        const [delivery] = (await source?.receive({ max: 1, visibilityTimeoutSeconds: 30 })) ?? [];
        if (source === undefined || delivery === undefined) throw new Error("the start message was not on the primary stream");
        const outcome = await old.process(delivery);
        if (!("reason" in outcome)) throw new Error(`expected a dead letter, got ${outcome.kind}`);
        await source.deadLetter(delivery, outcome.reason);
        const [letter] = await h.sy.deadLetters();
        expect(letter).toMatchObject({ reason: expect.stringMatching(/^unknown machine "simple"/) });
        // The fixed worker (this one knows the machine) gets it back.
        const results = await h.sy.redriveDeadLetters({ all: true });
        expect(results).toMatchObject([{ ok: true, correlationId: id, sent: { role: "stream", side: "primary" } }]);
        expect(await h.sy.deadLetters()).toEqual([]);
        await h.drain();
        expect(await h.trace(id)).toEqual([INIT, INIT, ["start", "go", 1, 0, "stream", "primary"], ["middle", "go", 2, 0, "stream", "primary"]]);
        expect((await h.sy.history(id))[1]?.origin).toBe("dead-letter");
        expect(await h.sy.status(id)).toMatchObject({ status: "completed", state: "end" });
        // Redriving it again finds nothing; a copy of its step would be a duplicate.
        expect(await h.sy.redriveDeadLetters({ all: true })).toEqual([]);
      });
    });
  });
}
