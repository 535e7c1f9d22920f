/**
 * Contract of the consumer-state port: what the checkpoint role's store keeps for the consumers of
 * a Kinesis stream. Lease writes are conditional on the version the writer saw, so of two writers
 * that saw the same version exactly one wins; dead letters are kept per source.
 */
import { randomUUID } from "node:crypto";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { ConsumerStatePort } from "../../src/ports.js";
import { TestClock } from "../support/clock.js";
import type { PortFactory, PortFixture } from "./port-factory.js";

export function consumerStateContract(name: string, factory: PortFactory<ConsumerStatePort>): void {
  describe(`${name}: consumer state contract`, () => {
    let fixture: PortFixture<ConsumerStatePort>;
    let state: ConsumerStatePort;
    let group: string;

    beforeEach(async () => {
      fixture = await factory(new TestClock());
      state = fixture.port;
      group = `arn:aws:kinesis:us-east-1:000000000000:stream/${randomUUID()}`;
    });
    afterEach(() => fixture.cleanup());

    it("creates a lease only if it does not exist, at version 1", async () => {
      const taken = await state.swapLease(group, "shard/a", 0, { owner: "one", expiresAt: 1_000, position: "" });
      expect(taken).toEqual({ key: "shard/a", owner: "one", expiresAt: 1_000, position: "", version: 1 });
      expect(await state.swapLease(group, "shard/a", 0, { owner: "two", expiresAt: 2_000, position: "" })).toBeUndefined();
      expect(await state.leases(group)).toEqual([taken]);
    });

    it("writes a lease only at the version the writer saw: of two writers exactly one wins", async () => {
      await state.swapLease(group, "shard/a", 0, { owner: "", expiresAt: 0, position: "49" });
      const [first, second] = await Promise.all([
        state.swapLease(group, "shard/a", 1, { owner: "one", expiresAt: 5_000, position: "49" }),
        state.swapLease(group, "shard/a", 1, { owner: "two", expiresAt: 5_000, position: "49" }),
      ]);
      const winners = [first, second].filter((lease) => lease !== undefined);
      expect(winners).toHaveLength(1);
      expect(winners[0]).toMatchObject({ version: 2, position: "49" });
      const owner = winners[0]?.owner;
      expect(await state.swapLease(group, "shard/a", 1, { owner: "late", expiresAt: 9_000, position: "50" })).toBeUndefined();
      const moved = await state.swapLease(group, "shard/a", 2, { owner: owner ?? "", expiresAt: 9_000, position: "51" });
      expect(moved).toEqual({ key: "shard/a", owner, expiresAt: 9_000, position: "51", version: 3 });
    });

    it("lists the leases of one group only", async () => {
      const other = `${group}-other`;
      await state.swapLease(group, "shard/a", 0, { owner: "one", expiresAt: 1, position: "" });
      await state.swapLease(group, "member/0", 0, { owner: "one", expiresAt: 2, position: "" });
      await state.swapLease(other, "shard/a", 0, { owner: "two", expiresAt: 3, position: "" });
      expect((await state.leases(group)).map((lease) => [lease.key, lease.owner]).sort()).toEqual([
        ["member/0", "one"],
        ["shard/a", "one"],
      ]);
      expect(await state.leases(`${group}-none`)).toEqual([]);
    });

    it("keeps dead letters per source, newest first", async () => {
      const source = `arn:aws:kinesis:us-east-1:000000000000:stream/${randomUUID()}`;
      const letter = (messageId: string, deadAt: number) => ({ sourceUri: source, messageId, body: `{"m":"${messageId}"}`, reason: "malformed message: not JSON", receiveCount: 1, deadAt });
      await state.buryDeadLetter(letter("shardId-0:1", 1_000));
      await state.buryDeadLetter({ ...letter("shardId-0:2", 2_000), sourceUri: `${source}-other` });
      await state.buryDeadLetter(letter("shardId-0:3", 3_000));
      const letters = await state.deadLettersOf(source);
      expect(letters.map(({ id: _, ...rest }) => rest)).toEqual([letter("shardId-0:3", 3_000), letter("shardId-0:1", 1_000)]);
      expect(await state.deadLettersOf(source, 1)).toHaveLength(1);
    });

    it("reads and removes one dead letter of one source by its id", async () => {
      const source = `arn:aws:kinesis:us-east-1:000000000000:stream/${randomUUID()}`;
      const other = `${source}-other`;
      const letter = (sourceUri: string, messageId: string, deadAt: number) => ({ sourceUri, messageId, body: `{"m":"${messageId}"}`, reason: "malformed message: not JSON", receiveCount: 1, deadAt });
      await state.buryDeadLetter(letter(source, "shardId-0:1", 1_000));
      await state.buryDeadLetter(letter(other, "shardId-0:2", 2_000));
      await state.buryDeadLetter(letter(source, "shardId-0:3", 3_000));
      const [kept, gone] = await state.deadLettersOf(source);
      const [foreign] = await state.deadLettersOf(other);
      expect(await state.getDeadLetter(source, gone!.id)).toEqual(gone);
      expect(await state.getDeadLetter(source, foreign!.id)).toBeUndefined();
      expect(await state.removeDeadLetter(source, foreign!.id)).toBe(false);
      expect(await state.removeDeadLetter(source, gone!.id)).toBe(true);
      expect(await state.removeDeadLetter(source, gone!.id)).toBe(false);
      expect(await state.getDeadLetter(source, gone!.id)).toBeUndefined();
      expect(await state.deadLettersOf(source)).toEqual([kept]);
      expect(await state.deadLettersOf(other)).toEqual([foreign]);
    });
  });
}
