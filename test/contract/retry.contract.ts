/**
 * Contract of the `retry` role and its message source: entries keyed by (correlation id, steps),
 * due after their delay; rescheduling replaces an entry, and a stale ack never deletes the new one.
 */
import { randomUUID } from "node:crypto";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { MessageSource, RetryPort } from "../../src/ports.js";
import { TestClock } from "../support/clock.js";
import { type DeadLetterInspection, expectRemovesExactlyOne, message, type PortFactory, type PortFixture, type SourceTraits } from "./port-factory.js";

export type RetrySource = RetryPort & MessageSource;

/** `traits`: as for the stream contract, what the backend declares and is held to. */
export function retryContract(name: string, factory: PortFactory<RetrySource, DeadLetterInspection>, traits: SourceTraits): void {
  describe(`${name}: retry contract`, () => {
    let clock: TestClock;
    let fixture: PortFixture<RetrySource, DeadLetterInspection>;
    let retry: RetrySource;
    const receive = (max = 10, visibilityTimeoutSeconds = 30) => retry.receive({ max, visibilityTimeoutSeconds });

    beforeEach(async () => {
      clock = new TestClock();
      fixture = await factory(clock);
      retry = fixture.port;
    });
    afterEach(() => fixture.cleanup());

    it("delivers a scheduled message when its delay has passed", async () => {
      const scheduled = message(randomUUID(), 2, { retries: 1, delaySeconds: 4 });
      expect(await retry.schedule(scheduled)).toBeTypeOf("object");
      expect(await receive()).toEqual([]);
      clock.advance(4_000);
      const [delivery, ...rest] = await receive();
      expect(rest).toEqual([]);
      expect(delivery).toMatchObject({ body: scheduled.body, receiveCount: 1, role: "retry", side: retry.side });
    });

    it("replaces the entry of the same step when rescheduled", async () => {
      const id = randomUUID();
      await retry.schedule(message(id, 1, { retries: 1, body: "first" }));
      await retry.schedule(message(id, 1, { retries: 2, body: "second" }));
      await retry.schedule(message(id, 2, { retries: 1, body: "other step" }));
      const bodies = (await receive()).map((d) => d.body).sort();
      expect(bodies).toEqual(["other step", "second"]);
    });

    it("does not let the ack of a replaced entry delete its replacement", async () => {
      const id = randomUUID();
      await retry.schedule(message(id, 1, { retries: 1, body: "attempt 1" }));
      const [delivery] = await receive();
      await retry.schedule(message(id, 1, { retries: 2, body: "attempt 2", delaySeconds: 2 }));
      await retry.ack(delivery!);
      clock.advance(2_000);
      const [replacement] = await receive();
      expect(replacement).toMatchObject({ body: "attempt 2", receiveCount: 1 });
      await retry.ack(replacement!);
      clock.advance(60_000);
      expect(await receive()).toEqual([]);
    });

    it("removes an entry, and accepts removing an absent one", async () => {
      const id = randomUUID();
      await retry.schedule(message(id, 1, { retries: 1 }));
      await retry.remove(id, 1);
      await retry.remove(id, 1);
      await retry.remove(randomUUID(), 9);
      expect(await receive()).toEqual([]);
    });

    it("delivers again after the visibility timeout", async () => {
      await retry.schedule(message(randomUUID(), 1, { retries: 1 }));
      expect(await receive(10, 10)).toHaveLength(1);
      expect(await receive(10, 10)).toEqual([]);
      clock.advance(10_001);
      const [again] = await receive(10, 10);
      expect(again?.receiveCount).toBe(2);
    });

    it("makes a released entry due again after the given delay", async () => {
      await retry.schedule(message(randomUUID(), 1, { retries: 1 }));
      const [delivery] = await receive(10, 300);
      await retry.release(delivery!, 3);
      expect(await receive()).toEqual([]);
      clock.advance(3_000);
      expect(await receive()).toHaveLength(1);
    });

    it("keeps an extended entry claimed", async () => {
      await retry.schedule(message(randomUUID(), 1, { retries: 1 }));
      const [delivery] = await receive(10, 10);
      clock.advance(8_000);
      await retry.extend(delivery!, 10);
      clock.advance(8_000);
      expect(await receive(10, 10)).toEqual([]);
      clock.advance(2_001);
      expect(await receive(10, 10)).toHaveLength(1);
    });

    it("hands out at most max entries", async () => {
      for (let i = 0; i < 5; i++) await retry.schedule(message(randomUUID(), 1, { retries: 1 }));
      expect(await receive(2)).toHaveLength(2);
      expect(await receive(10)).toHaveLength(3);
    });

    it(
      traits.countsOneInstance
        ? "counts pending entries, of all instances or one, delayed and claimed ones included"
        : "counts all pending entries, delayed and claimed ones included, and refuses to count one instance's",
      async () => {
        const pending = retry.pending?.bind(retry);
        if (pending === undefined) throw new Error(`${name} has no pending(): every retry source must count its entries`);
        const [a, b] = [randomUUID(), randomUUID()];
        await retry.schedule(message(a, 1, { retries: 1 }));
        await retry.schedule(message(b, 1, { retries: 1 }));
        await retry.schedule(message(a, 2, { retries: 1, delaySeconds: 60 }));
        expect(await pending()).toBe(3);
        if (traits.countsOneInstance) expect(await pending(a)).toBe(2);
        const deliveries = await receive();
        expect(deliveries).toHaveLength(2);
        for (const delivery of deliveries) await retry.ack(delivery);
        expect(await pending()).toBe(1);
        if (traits.countsOneInstance) {
          expect(await pending(a)).toBe(1);
          expect(await pending(b)).toBe(0);
        } else {
          await expect(pending(a)).rejects.toThrow(`cannot count the messages of one instance (${a})`);
        }
      },
    );

    // Kinesis has no backoff: a retry entry that is not due yet holds its shard, and the entry
    // behind it waits (docs/backends/kinesis.md, "No delays, no backoff"). The backend declares that
    // (delayHoldsLater), and there this case is expected to fail.
    (traits.delayHoldsLater ? it.fails : it)("does not let an entry waiting out its backoff hold back one scheduled after it", async () => {
      await retry.schedule(message(randomUUID(), 1, { retries: 1, body: "later", delaySeconds: 60 }));
      await retry.schedule(message(randomUUID(), 1, { retries: 1, body: "now" }));
      const first = await receive();
      expect(first.map((d) => d.body)).toEqual(["now"]);
      for (const delivery of first) await retry.ack(delivery);
      clock.advance(60_000);
      expect((await receive()).map((d) => d.body)).toEqual(["later"]);
    });

    it(traits.byCorrelationId ? "receives only one instance's entries when asked" : "refuses to receive one instance's entries, claiming nothing", async () => {
      expect(retry.filtersByCorrelationId).toBe(traits.byCorrelationId);
      const [a, b] = [randomUUID(), randomUUID()];
      await retry.schedule(message(a, 1, { retries: 1, body: "a1" }));
      await retry.schedule(message(b, 1, { retries: 1, body: "b1" }));
      await retry.schedule(message(a, 2, { retries: 1, body: "a2" }));
      const mine = retry.receive({ max: 10, visibilityTimeoutSeconds: 30, correlationId: a });
      if (traits.byCorrelationId) {
        expect((await mine).map((d) => d.body).sort()).toEqual(["a1", "a2"]);
        expect((await receive()).map((d) => d.body)).toEqual(["b1"]);
      } else {
        await expect(mine).rejects.toThrow(
          `retry.${retry.side} (${retry.uri}) cannot receive the messages of one instance (${a}) apart from other instances'; receive without a correlation id, or use a backend that filters: sqlite, postgres, dynamodb`,
        );
        expect((await receive()).map((d) => d.body).sort()).toEqual(["a1", "a2", "b1"]);
      }
    });

    it("moves a dead-lettered entry aside with its body and reason", async () => {
      const scheduled = message(randomUUID(), 1, { retries: 1, body: "{broken" });
      await retry.schedule(scheduled);
      const [delivery] = await receive(10, 10);
      await retry.deadLetter(delivery!, "malformed message");
      clock.advance(60_000);
      expect(await receive()).toEqual([]);
      expect(await fixture.deadLetters.list()).toEqual([expect.objectContaining({ body: scheduled.body, reason: "malformed message" })]);
    });

    it("removes exactly the dead letter it is asked to, by the id the store gave it", async () => {
      const first = message(randomUUID(), 1, { retries: 1, body: "first bad entry" });
      const second = message(randomUUID(), 1, { retries: 1, body: "second bad entry" });
      await retry.schedule(first);
      await retry.schedule(second);
      const deliveries = await receive(10, 10);
      expect(deliveries).toHaveLength(2);
      for (const delivery of deliveries) await retry.deadLetter(delivery, `cannot read ${delivery.body}`);
      await expectRemovesExactlyOne(fixture.deadLetters, first.body, second.body);
    });
  });
}
