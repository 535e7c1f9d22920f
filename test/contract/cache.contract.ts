/**
 * Contract of the `cache` role: leases with strictly increasing fence tokens, released only by
 * their owner, and dispatched flags that expire.
 */
import { randomUUID } from "node:crypto";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { CachePort } from "../../src/ports.js";
import { TestClock } from "../support/clock.js";
import type { PortFactory, PortFixture } from "./port-factory.js";

export function cacheContract(name: string, factory: PortFactory<CachePort>): void {
  describe(`${name}: cache contract`, () => {
    let clock: TestClock;
    let fixture: PortFixture<CachePort>;
    let cache: CachePort;
    let id: string;

    beforeEach(async () => {
      clock = new TestClock();
      fixture = await factory(clock);
      cache = fixture.port;
      id = randomUUID();
    });
    afterEach(() => fixture.cleanup());

    it("grants a free lease with fence token 1, then refuses it while held", async () => {
      expect(await cache.acquireLease(id, 1, 0, 60)).toEqual({ acquired: true, fenceToken: 1 });
      // A refusal says until when the lease is held, so a retry can wait for it.
      const heldUntil = clock.now() + 60_000;
      expect(await cache.acquireLease(id, 1, 0, 60)).toEqual({ acquired: false, heldUntil });
      expect(await cache.acquireLease(id, 2, 0, 60)).toEqual({ acquired: false, heldUntil });
      expect(await cache.acquireLease(randomUUID(), 1, 0, 60)).toEqual({ acquired: true, fenceToken: 1 });
    });

    it("grants an expired lease with the next fence token", async () => {
      await cache.acquireLease(id, 1, 0, 10);
      clock.advance(9_000);
      expect(await cache.acquireLease(id, 1, 1, 10)).toMatchObject({ acquired: false });
      clock.advance(1_001);
      expect(await cache.acquireLease(id, 1, 1, 10)).toEqual({ acquired: true, fenceToken: 2 });
    });

    it("grants a released lease with the next fence token", async () => {
      const first = await cache.acquireLease(id, 1, 0, 60);
      expect(first.acquired && (await cache.releaseLease(id, 1, 0, first.fenceToken))).toBe(true);
      expect(await cache.acquireLease(id, 2, 0, 60)).toEqual({ acquired: true, fenceToken: 2 });
    });

    it("hands out strictly increasing fence tokens", async () => {
      const fences: number[] = [];
      for (let steps = 1; steps <= 6; steps++) {
        const lease = await cache.acquireLease(id, steps, 0, 10);
        if (!lease.acquired) throw new Error(`lease ${steps} not acquired`);
        fences.push(lease.fenceToken);
        if (steps % 2 === 0) clock.advance(10_001);
        else await cache.releaseLease(id, steps, 0, lease.fenceToken);
      }
      expect(fences).toEqual([1, 2, 3, 4, 5, 6]);
    });

    it("hands out a token above the one the message carries, when its own counter is behind", async () => {
      // The lease lived on the other cache meanwhile: that one handed out tokens up to 41.
      const first = await cache.acquireLease(id, 1, 0, 60, 41);
      expect(first).toEqual({ acquired: true, fenceToken: 42 });
      if (first.acquired) expect(await cache.releaseLease(id, 1, 0, 42)).toBe(true);
      // Its counter is now 42: a lower carried token does not pull it back.
      expect(await cache.acquireLease(id, 2, 0, 60, 7)).toEqual({ acquired: true, fenceToken: 43 });
      clock.advance(60_001);
      expect(await cache.acquireLease(id, 3, 0, 60, 43)).toEqual({ acquired: true, fenceToken: 44 });
    });

    it("raises its fence counter to a token from the other cache, never lowering it, without touching the lease", async () => {
      await cache.raiseFence(id, 500);
      expect(await cache.acquireLease(id, 1, 0, 60)).toEqual({ acquired: true, fenceToken: 501 });
      // Held: raising it leaves the lease with its holder, and a lower token changes nothing.
      await cache.raiseFence(id, 7);
      expect(await cache.acquireLease(id, 2, 0, 60)).toMatchObject({ acquired: false });
      expect(await cache.releaseLease(id, 1, 0, 501)).toBe(true);
      expect(await cache.acquireLease(id, 2, 0, 60)).toEqual({ acquired: true, fenceToken: 502 });
    });

    it("releases a lease only for its owner's steps, retries and fence token", async () => {
      const lease = await cache.acquireLease(id, 3, 1, 60);
      if (!lease.acquired) throw new Error("not acquired");
      expect(await cache.releaseLease(id, 3, 1, lease.fenceToken + 1)).toBe(false);
      expect(await cache.releaseLease(id, 4, 1, lease.fenceToken)).toBe(false);
      expect(await cache.releaseLease(id, 3, 0, lease.fenceToken)).toBe(false);
      expect(await cache.acquireLease(id, 3, 1, 60)).toMatchObject({ acquired: false });
      expect(await cache.releaseLease(id, 3, 1, lease.fenceToken)).toBe(true);
      expect(await cache.releaseLease(id, 3, 1, lease.fenceToken)).toBe(false);
      expect(await cache.releaseLease(randomUUID(), 3, 1, 1)).toBe(false);
    });

    it("does not let a former owner release a lease taken over after expiry", async () => {
      const old = await cache.acquireLease(id, 1, 0, 10);
      clock.advance(10_001);
      const current = await cache.acquireLease(id, 1, 0, 10);
      expect(current).toEqual({ acquired: true, fenceToken: 2 });
      expect(old.acquired && (await cache.releaseLease(id, 1, 0, old.fenceToken))).toBe(false);
      expect(await cache.acquireLease(id, 1, 0, 10)).toMatchObject({ acquired: false });
    });

    it("keeps a step marked dispatched until its TTL runs out", async () => {
      expect(await cache.isDispatched(id, 1)).toBe(false);
      await cache.markDispatched(id, 1, 60);
      expect(await cache.isDispatched(id, 1)).toBe(true);
      expect(await cache.isDispatched(id, 2)).toBe(false);
      expect(await cache.isDispatched(randomUUID(), 1)).toBe(false);
      clock.advance(59_000);
      expect(await cache.isDispatched(id, 1)).toBe(true);
      clock.advance(1_001);
      expect(await cache.isDispatched(id, 1)).toBe(false);
    });

    it("counts a step as dispatched once a later step of the instance is", async () => {
      await cache.markDispatched(id, 3, 60);
      expect([await cache.isDispatched(id, 2), await cache.isDispatched(id, 3), await cache.isDispatched(id, 4)]).toEqual([true, true, false]);
      // Marking an earlier step again (a late retry) does not lower the mark.
      await cache.markDispatched(id, 1, 60);
      expect(await cache.isDispatched(id, 3)).toBe(true);
    });

    it("keeps the mark of an instance whose lease it never held, and still starts fences at 1", async () => {
      await cache.markDispatched(id, 5, 60);
      expect(await cache.acquireLease(id, 6, 0, 60)).toEqual({ acquired: true, fenceToken: 1 });
      expect(await cache.isDispatched(id, 5)).toBe(true);
    });

    it("renews a dispatched flag when marked again", async () => {
      await cache.markDispatched(id, 1, 10);
      clock.advance(9_000);
      await cache.markDispatched(id, 1, 10);
      clock.advance(9_000);
      expect(await cache.isDispatched(id, 1)).toBe(true);
    });
  });
}
