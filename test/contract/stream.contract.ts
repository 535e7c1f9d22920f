/**
 * Contract of the `stream` role and its message source: what every stream backend must do.
 */
import { randomUUID } from "node:crypto";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { MessageSource, StreamPort } from "../../src/ports.js";
import { TestClock } from "../support/clock.js";
import { type DeadLetterInspection, expectRemovesExactlyOne, message, type PortFactory, type PortFixture, type SourceTraits } from "./port-factory.js";

export type StreamSource = StreamPort & MessageSource;

/**
 * `traits`: what the backend declares where backends differ (see {@link SourceTraits}); each case
 * that depends on one runs on every backend, asserting what that backend promises.
 */
export function streamContract(name: string, factory: PortFactory<StreamSource, DeadLetterInspection>, traits: SourceTraits): void {
  describe(`${name}: stream contract`, () => {
    let clock: TestClock;
    let fixture: PortFixture<StreamSource, DeadLetterInspection>;
    let stream: StreamSource;
    const receive = (max = 10, visibilityTimeoutSeconds = 30) => stream.receive({ max, visibilityTimeoutSeconds });

    beforeEach(async () => {
      clock = new TestClock();
      fixture = await factory(clock);
      stream = fixture.port;
    });
    afterEach(() => fixture.cleanup());

    it("delivers a sent message once, with its body, role and side", async () => {
      const sent = message(randomUUID(), 3, { body: '{"hello":"world"}' });
      const receipt = await stream.send(sent);
      expect(receipt).toBeTypeOf("object");
      const [delivery, ...rest] = await receive();
      expect(rest).toEqual([]);
      expect(delivery).toMatchObject({ body: sent.body, receiveCount: 1, role: "stream", side: stream.side });
      expect(delivery?.id).toBeTypeOf("string");
      expect(await receive()).toEqual([]);
    });

    it("holds a delayed message until its delay has passed", async () => {
      await stream.send(message(randomUUID(), 1, { delaySeconds: 30 }));
      expect(await receive()).toEqual([]);
      clock.advance(29_999);
      expect(await receive()).toEqual([]);
      clock.advance(1);
      expect(await receive()).toHaveLength(1);
    });

    it("delivers again after the visibility timeout, counting receives", async () => {
      await stream.send(message(randomUUID()));
      expect(await receive(10, 10)).toHaveLength(1);
      clock.advance(9_000);
      expect(await receive(10, 10)).toEqual([]);
      clock.advance(1_001);
      const [again] = await receive(10, 10);
      expect(again?.receiveCount).toBe(2);
    });

    it("deletes an acknowledged message", async () => {
      await stream.send(message(randomUUID()));
      const [delivery] = await receive(10, 10);
      await stream.ack(delivery!);
      clock.advance(60_000);
      expect(await receive()).toEqual([]);
    });

    it("ignores an ack with a stale claim: the re-claimed message survives", async () => {
      await stream.send(message(randomUUID()));
      const [first] = await receive(10, 10);
      clock.advance(10_001);
      const [second] = await receive(10, 10);
      expect(second?.receiveCount).toBe(2);
      await stream.ack(first!);
      clock.advance(10_001);
      const [third] = await receive(10, 10);
      expect(third?.receiveCount).toBe(3);
      await stream.ack(third!);
      clock.advance(60_000);
      expect(await receive()).toEqual([]);
    });

    it("makes a released message visible again after the given delay", async () => {
      await stream.send(message(randomUUID()));
      const [delivery] = await receive(10, 300);
      await stream.release(delivery!, 5);
      expect(await receive()).toEqual([]);
      clock.advance(5_000);
      const [again] = await receive();
      expect(again?.receiveCount).toBe(2);
    });

    it("keeps an extended message claimed, and ignores an extend with a stale claim", async () => {
      await stream.send(message(randomUUID()));
      const [delivery] = await receive(10, 10);
      clock.advance(8_000);
      await stream.extend(delivery!, 10);
      clock.advance(8_000);
      expect(await receive(10, 10)).toEqual([]);
      clock.advance(2_001);
      const [again] = await receive(10, 10);
      expect(again?.receiveCount).toBe(2);
      await stream.extend(delivery!, 60);
      clock.advance(10_001);
      expect(await receive(10, 10)).toHaveLength(1);
    });

    it("hands out at most max messages and every message exactly once", async () => {
      const bodies = Array.from({ length: 7 }, (_, i) => `body-${i}`);
      for (const body of bodies) await stream.send(message(randomUUID(), 1, { body }));
      const first = await receive(3);
      expect(first).toHaveLength(3);
      const rest = [...(await receive(3)), ...(await receive(3))];
      expect(await receive(3)).toEqual([]);
      expect([...first, ...rest].map((d) => d.body).sort()).toEqual(bodies.sort());
    });

    it("sends a batch with one result per item, in order", async () => {
      const batch = Array.from({ length: 5 }, (_, i) => message(randomUUID(), i + 1, { body: `b${i}` }));
      const results = await stream.sendBatch(batch);
      expect(results).toHaveLength(5);
      for (const result of results) expect(result).toMatchObject({ ok: true, receipt: expect.any(Object) });
      const delivered = await receive(10);
      expect(delivered.map((d) => d.body).sort()).toEqual(["b0", "b1", "b2", "b3", "b4"]);
    });

    it(
      traits.countsOneInstance
        ? "counts pending messages, of all instances or one, delayed and claimed ones included"
        : "counts all pending messages, delayed and claimed ones included, and refuses to count one instance's",
      async () => {
        const pending = stream.pending?.bind(stream);
        if (pending === undefined) throw new Error(`${name} has no pending(): every stream source must count its messages`);
        const [a, b] = [randomUUID(), randomUUID()];
        await stream.send(message(a, 1));
        await stream.send(message(b, 1));
        await stream.send(message(a, 2, { delaySeconds: 60 }));
        expect(await pending()).toBe(3);
        if (traits.countsOneInstance) expect(await pending(a)).toBe(2);
        const deliveries = await receive();
        expect(deliveries).toHaveLength(2);
        expect(await pending()).toBe(3);
        for (const delivery of deliveries) await stream.ack(delivery);
        expect(await pending()).toBe(1);
        if (traits.countsOneInstance) {
          expect(await pending(a)).toBe(1);
          expect(await pending(b)).toBe(0);
        } else {
          await expect(pending(a)).rejects.toThrow(`cannot count the messages of one instance (${a})`);
        }
      },
    );

    // Kinesis keeps the order of a shard: a record that is not due yet holds its shard, so the
    // message behind it waits (docs/backends/kinesis.md, "No delays, no backoff"). The backend
    // declares that (delayHoldsLater), and there this case is expected to fail.
    (traits.delayHoldsLater ? it.fails : it)("does not let a delayed message hold back a message sent after it", async () => {
      await stream.send(message(randomUUID(), 1, { body: "later", delaySeconds: 60 }));
      await stream.send(message(randomUUID(), 1, { body: "now" }));
      const first = await receive();
      expect(first.map((d) => d.body)).toEqual(["now"]);
      for (const delivery of first) await stream.ack(delivery);
      clock.advance(60_000);
      expect((await receive()).map((d) => d.body)).toEqual(["later"]);
    });

    it(traits.byCorrelationId ? "receives only one instance's messages when asked" : "refuses to receive one instance's messages, claiming nothing", async () => {
      expect(stream.filtersByCorrelationId).toBe(traits.byCorrelationId);
      const [a, b] = [randomUUID(), randomUUID()];
      await stream.send(message(a, 1, { body: "a1" }));
      await stream.send(message(b, 1, { body: "b1" }));
      await stream.send(message(a, 2, { body: "a2" }));
      const mine = stream.receive({ max: 10, visibilityTimeoutSeconds: 30, correlationId: a });
      if (traits.byCorrelationId) {
        expect((await mine).map((d) => d.body).sort()).toEqual(["a1", "a2"]);
        expect((await receive()).map((d) => d.body)).toEqual(["b1"]);
      } else {
        await expect(mine).rejects.toThrow(
          `stream.${stream.side} (${stream.uri}) cannot receive the messages of one instance (${a}) apart from other instances'; receive without a correlation id, or use a backend that filters: sqlite, postgres, dynamodb`,
        );
        expect((await receive()).map((d) => d.body).sort()).toEqual(["a1", "a2", "b1"]);
      }
    });

    it("moves a dead-lettered message aside with its body and reason", async () => {
      const sent = message(randomUUID(), 1, { body: "not json at all" });
      await stream.send(sent);
      const [delivery] = await receive(10, 10);
      await stream.deadLetter(delivery!, "malformed message: not JSON");
      clock.advance(60_000);
      expect(await receive()).toEqual([]);
      expect(await fixture.deadLetters.list()).toEqual([expect.objectContaining({ body: sent.body, reason: "malformed message: not JSON" })]);
    });

    it("removes exactly the dead letter it is asked to, by the id the store gave it", async () => {
      const first = message(randomUUID(), 1, { body: "first bad body" });
      const second = message(randomUUID(), 1, { body: "second bad body" });
      await stream.send(first);
      await stream.send(second);
      const deliveries = await receive(10, 10);
      expect(deliveries).toHaveLength(2);
      for (const delivery of deliveries) await stream.deadLetter(delivery, `cannot read ${delivery.body}`);
      await expectRemovesExactlyOne(fixture.deadLetters, first.body, second.body);
    });
  });
}
