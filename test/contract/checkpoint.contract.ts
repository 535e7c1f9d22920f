/** Contract of the `checkpoint` role: the last receipt per instance. */
import { randomUUID } from "node:crypto";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { CheckpointPort } from "../../src/ports.js";
import { TestClock } from "../support/clock.js";
import type { PortFactory, PortFixture } from "./port-factory.js";

export function checkpointContract(name: string, factory: PortFactory<CheckpointPort>): void {
  describe(`${name}: checkpoint contract`, () => {
    let clock: TestClock;
    let fixture: PortFixture<CheckpointPort>;

    beforeEach(async () => {
      clock = new TestClock();
      fixture = await factory(clock);
    });
    afterEach(() => fixture.cleanup());

    it("has no checkpoint for an unknown instance", async () => {
      expect(await fixture.port.get(randomUUID())).toBeUndefined();
    });

    it("returns the last stored receipt with its step and time", async () => {
      const id = randomUUID();
      await fixture.port.store(id, 1, { table: "t", id: 1 });
      clock.advance(5_000);
      const receipt = { ShardId: "shardId-000000000001", SequenceNumber: "4959", nested: { a: [1, 2] } };
      await fixture.port.store(id, 2, receipt);
      expect(await fixture.port.get(id)).toEqual({ correlationId: id, steps: 2, receipt, storedAt: clock.now() });
    });
  });
}
