/**
 * The stream, retry, cache and journal contracts against the real Redis server, each test under its
 * own random key prefix, and what only the Redis backend promises (fail-fast when the server is
 * down, fences that survive their lease key, claims across consumers, the journal's indexes and
 * retention, the URI).
 */
import { randomUUID } from "node:crypto";
import { Redis } from "ioredis";
import { afterAll, afterEach, describe, expect, it, vi } from "vitest";
import type { BackendContext } from "../../src/backends/backend.js";
import { openRedisBackend, type RedisBackend } from "../../src/backends/redis/backend.js";
import {
  cacheKeys,
  journalBase,
  journalKeys,
  journalListKey,
  journalMachineParkedKey,
  journalSharedKeys,
  retryKeys,
  streamKeys,
} from "../../src/backends/redis/keys.js";
import { parseRedisUri } from "../../src/backends/redis/uri.js";
import { silentLogger } from "../../src/logger.js";
import { type Clock, type Delivery, INSTANCE_STATUSES, type InstanceRecord, type MessageSource } from "../../src/ports.js";
import { TestClock } from "../support/clock.js";
import { deleteRedisKeys, needs, REDIS_URL, silentServer, uniqueName } from "../support/servers.js";
import { cacheContract } from "./cache.contract.js";
import { journalContract } from "./journal.contract.js";
import { message } from "./port-factory.js";
import { registryContract } from "./registry.contract.js";
import { retryContract } from "./retry.contract.js";
import { streamContract } from "./stream.contract.js";

const run = uniqueName("redis_test");
afterAll(() => deleteRedisKeys(run));

const context = (clock: Clock): BackendContext => ({ clock, baseDir: process.cwd(), endpoints: {}, logger: silentLogger });

/** A backend under a fresh prefix of this run (`query`: more URI options); cleanup closes it and deletes its keys. */
async function openFresh(clock: Clock, prefix = `${run}_${randomUUID().slice(0, 8)}`, query = "") {
  const backend = await openRedisBackend(`${REDIS_URL}?prefix=${prefix}${query}`, context(clock));
  return {
    backend,
    prefix,
    cleanup: async () => {
      await backend.close();
      await deleteRedisKeys(prefix);
    },
  };
}

function factory<P>(make: (backend: RedisBackend) => P) {
  return async (clock: TestClock) => {
    const { backend, cleanup } = await openFresh(clock);
    return { port: make(backend), cleanup, deadLetters: backend.deadLetters };
  };
}

describe("the port contracts on Redis", needs("redis"), () => {
  streamContract("redis", factory((b) => b.stream()), { byCorrelationId: false, countsOneInstance: true });
  retryContract("redis", factory((b) => b.retry()), { byCorrelationId: false, countsOneInstance: true });
  cacheContract("redis", factory((b) => b.cache()));
  journalContract("redis", factory((b) => b.journal()));
  registryContract("redis", factory((b) => b.journal()));
});

describe("redis backend", needs("redis"), () => {
  const cleanups: Array<() => Promise<void>> = [];
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });
  const open = async (clock: Clock = new TestClock(), prefix?: string, query?: string) => {
    const opened = await openFresh(clock, prefix, query);
    cleanups.push(opened.cleanup);
    return opened;
  };
  const raw = () => {
    const redis = new Redis(REDIS_URL);
    cleanups.push(async () => {
      redis.disconnect();
    });
    return redis;
  };

  it("fails port calls fast with one clear line when the server is down", async () => {
    const backend = await openRedisBackend("redis://127.0.0.1:1/0?prefix=nowhere", context(new TestClock()));
    cleanups.push(() => backend.close());
    const started = Date.now();
    const calls: Promise<unknown>[] = [
      backend.cache().acquireLease("c1", 1, 0, 60),
      backend.stream().send(message("c1")),
      backend.retry().receive({ max: 1, visibilityTimeoutSeconds: 30 }),
    ];
    const claim: Delivery = { id: "1-0", body: "", receiveCount: 1, role: "stream", side: "primary", handle: { id: "1-0", token: "t" } };
    calls.push(backend.stream().extend(claim, 30));
    for (const call of calls) {
      await expect(call).rejects.toThrow(/^cannot reach Redis at 127\.0\.0\.1:1 \(ECONNREFUSED\); check the redis:\/\/ URI and that the server runs$/);
    }
    const batch = await backend.stream().sendBatch([message("c1"), message("c2")]);
    expect(batch.map((item) => (item.ok ? "sent" : item.error.message.slice(0, 23)))).toEqual(["cannot reach Redis at 1", "cannot reach Redis at 1"]);
    expect(Date.now() - started).toBeLessThan(2_500);
    await expect(backend.cache().isDispatched("c1", 1)).rejects.toMatchObject({ name: "SystemError" });
  });

  it("fails port calls fast when a server accepts connections but never answers", async () => {
    const silent = await silentServer();
    cleanups.push(() => silent.close());
    const { port } = silent;
    const started = Date.now();
    const backend = await openRedisBackend(`redis://127.0.0.1:${port}/0?prefix=mute&timeout_ms=300`, context(new TestClock()));
    cleanups.push(() => backend.close());
    await expect(backend.cache().acquireLease("c1", 1, 0, 60)).rejects.toThrow(new RegExp(`^cannot reach Redis at 127\\.0\\.0\\.1:${port} \\(no answer within 300 ms\\); check the redis://`));
    expect(Date.now() - started).toBeLessThan(1_500);
  });

  it("keeps fence tokens growing after the lease key is gone", async () => {
    const clock = new TestClock();
    const { backend, prefix } = await open(clock);
    const cache = backend.cache();
    expect(await cache.acquireLease("c1", 1, 0, 10)).toEqual({ acquired: true, fenceToken: 1 });
    const keys = cacheKeys(prefix, "c1");
    const redis = raw();
    // Garbage collection only: the lease key lives its timeout plus a margin, the fence counter long.
    expect(await redis.pttl(keys.lease)).toBeGreaterThan(10_000);
    expect(await redis.pttl(keys.fence)).toBeGreaterThan(24 * 3_600_000);
    await redis.del(keys.lease);
    expect(await cache.acquireLease("c1", 2, 0, 10)).toEqual({ acquired: true, fenceToken: 2 });
  });

  it("puts every key of a script under one hash tag", () => {
    const tag = (key: string) => /\{([^}]*)\}/.exec(key)?.[1];
    const cache = Object.values(cacheKeys("p", "order-7"));
    expect(new Set(cache.map(tag))).toEqual(new Set(["order-7"]));
    expect(new Set(streamKeys("p").map(tag))).toEqual(new Set(["p:stream"]));
    expect(new Set(retryKeys("p").map(tag))).toEqual(new Set(["p:retry"]));
    const journal = [
      journalBase("p"),
      ...Object.values(journalKeys("p", "order-7")),
      ...Object.values(journalSharedKeys("p")),
      journalListKey("p", "paused", "orders"),
      journalMachineParkedKey("p", "orders"),
    ];
    expect(new Set(journal.map(tag))).toEqual(new Set(["p:journal"]));
  });

  it("hands a message whose claim expired to another consumer, and ignores the first one's ack", async () => {
    const clock = new TestClock();
    const { backend, prefix } = await open(clock);
    const other = await openRedisBackend(`${REDIS_URL}?prefix=${prefix}`, context(clock));
    cleanups.push(() => other.close());
    const [a, b] = [backend.stream(), other.stream()];
    await a.send(message("c1", 1, { body: "shared" }));
    const [first] = await a.receive({ max: 5, visibilityTimeoutSeconds: 10 });
    expect(await b.receive({ max: 5, visibilityTimeoutSeconds: 10 })).toEqual([]);
    clock.advance(10_001);
    const [second] = await b.receive({ max: 5, visibilityTimeoutSeconds: 10 });
    expect(second).toMatchObject({ id: first?.id, body: "shared", receiveCount: 2 });
    await a.ack(first!);
    expect(await a.pending()).toBe(1);
    await b.ack(second!);
    expect(await a.pending()).toBe(0);
    // The consumer group's pending list is empty too: XACK went with the delete.
    const redis = raw();
    const summary = (await redis.xpending(streamKeys(prefix)[0] as string, "switchyard")) as [number, ...unknown[]];
    expect(summary[0]).toBe(0);
    // A closed backend leaves the consumer group.
    const consumers = () => redis.xinfo("CONSUMERS", streamKeys(prefix)[0] as string, "switchyard") as Promise<unknown[]>;
    expect(await consumers()).toHaveLength(2);
    await other.close();
    expect(await consumers()).toHaveLength(1);
  });

  it("creates the consumer group when a receive finds it missing, reading the stream from its start", async () => {
    const { backend, prefix } = await open();
    const stream = backend.stream();
    await stream.send(message("c1", 1, { body: "before the group" }));
    expect((await stream.receive({ max: 5, visibilityTimeoutSeconds: 30 })).map((d) => d.body)).toEqual(["before the group"]);
    await raw().xgroup("DESTROY", streamKeys(prefix)[0] as string, "switchyard");
    await stream.send(message("c2", 1, { body: "after it was destroyed" }));
    const again = await stream.receive({ max: 5, visibilityTimeoutSeconds: 30 });
    expect(again.map((d) => d.body)).toEqual(["before the group", "after it was destroyed"]);
    for (const delivery of again) await stream.ack(delivery);
    expect(await stream.pending()).toBe(0);
  });

  it("keeps prefixes apart", async () => {
    const clock = new TestClock();
    const one = await open(clock);
    const two = await open(clock);
    await one.backend.stream().send(message("c1"));
    await one.backend.retry().schedule(message("c1"));
    expect(await one.backend.cache().acquireLease("c1", 1, 0, 60)).toMatchObject({ acquired: true });
    expect(await two.backend.stream().receive({ max: 5, visibilityTimeoutSeconds: 30 })).toEqual([]);
    expect(await two.backend.retry().receive({ max: 5, visibilityTimeoutSeconds: 30 })).toEqual([]);
    expect(await two.backend.cache().acquireLease("c1", 1, 0, 60)).toEqual({ acquired: true, fenceToken: 1 });
  });

  it("lists the dead letters of stream and retry store together, newest first", async () => {
    const clock = new TestClock();
    const { backend } = await open(clock);
    await backend.stream().send(message("c1", 1, { body: "s" }));
    await backend.retry().schedule(message("c2", 4, { body: "r" }));
    const [fromStream] = await backend.stream().receive({ max: 1, visibilityTimeoutSeconds: 30 });
    await backend.stream().deadLetter(fromStream!, "bad stream message");
    clock.advance(1);
    const [fromRetry] = await backend.retry().receive({ max: 1, visibilityTimeoutSeconds: 30 });
    await backend.retry().deadLetter(fromRetry!, "bad retry entry");
    const letters = await backend.deadLetters.list();
    expect(letters).toMatchObject([
      { body: "r", reason: "bad retry entry", messageId: "c2:4", receiveCount: 1, deadAt: clock.now() },
      { body: "s", reason: "bad stream message", messageId: fromStream?.id, receiveCount: 1, deadAt: clock.now() - 1 },
    ]);
    expect(new Set(letters.map((l) => l.id)).size).toBe(2);
    expect(await backend.deadLetters.list(1)).toHaveLength(1);
    expect(await backend.stream().pending("c1")).toBe(0);
    expect(await backend.retry().pending("c2")).toBe(0);
  });

  it("reports every item of a batch, one per message, sent by one script call per 500 messages", async () => {
    const { backend } = await open();
    const calls = vi.spyOn(backend.connection, "run");
    const results = await backend.stream().sendBatch([message("c1"), message("c2", 1, { delaySeconds: 5 })]);
    expect(results).toEqual([
      { ok: true, receipt: { stream: expect.any(String), id: expect.any(String) } },
      { ok: true, receipt: { delayed: expect.any(String), id: expect.any(String) } },
    ]);
    const many = Array.from({ length: 501 }, (_, i) => message(`m${i}`, 1, { body: `b${i}` }));
    const sent = await backend.stream().sendBatch(many);
    expect(sent.filter((item) => item.ok)).toHaveLength(501);
    expect(calls.mock.calls.map(([operation]) => operation)).toEqual(["stream send batch", "stream send batch", "stream send batch"]);
    const received = await backend.stream().receive({ max: 600, visibilityTimeoutSeconds: 30 });
    expect(received.map((d) => d.body)).toEqual(["{\"correlationId\":\"c1\",\"steps\":1}", ...many.map((m) => m.body)]);
    expect(await backend.stream().pending()).toBe(503);
  });

  /**
   * `a` holds three claims; the first expires and `b` takes it. `a` then extends all three in one
   * turn: one script call, which moves the two that are still `a`'s and leaves `b`'s alone.
   */
  async function extendsInOneCall(a: MessageSource, b: MessageSource, run: { mock: { calls: unknown[][] } }, clock: TestClock) {
    const receive = (source: MessageSource) => source.receive({ max: 5, visibilityTimeoutSeconds: 10 });
    const held = await receive(a);
    expect(held).toHaveLength(3);
    clock.advance(10_001);
    const [taken] = await b.receive({ max: 1, visibilityTimeoutSeconds: 10 });
    expect(taken?.id).toBe(held[0]?.id);
    const before = run.mock.calls.length;
    await Promise.all(held.map((delivery) => a.extend(delivery, 30)));
    expect(run.mock.calls.slice(before).map(([operation]) => operation)).toEqual([`${a.role} extend`]);
    clock.advance(10_000);
    // b's claim ran out (the stale extend did not move it); a's two extended ones are still held.
    expect((await receive(b)).map((d) => [d.id, d.receiveCount])).toEqual([[held[0]?.id, 3]]);
    // Until their new deadline: then they are due again, with the first one once more.
    clock.advance(20_000);
    expect((await receive(b)).map((d) => d.id).sort()).toEqual(held.map((d) => d.id).sort());
  }

  it("extends the claims of all in-flight stream messages in one script call, skipping claims no longer held", async () => {
    const clock = new TestClock();
    const { backend, prefix } = await open(clock);
    const other = await openRedisBackend(`${REDIS_URL}?prefix=${prefix}`, context(clock));
    cleanups.push(() => other.close());
    for (const id of ["c1", "c2", "c3"]) await backend.stream().send(message(id));
    const run = vi.spyOn(backend.connection, "run");
    await extendsInOneCall(backend.stream(), other.stream(), run, clock);
  });

  it("extends the claims of all in-flight retry entries in one script call, skipping claims no longer held", async () => {
    const clock = new TestClock();
    const { backend } = await open(clock);
    for (const id of ["c1", "c2", "c3"]) await backend.retry().schedule(message(id, 2, { retries: 1 }));
    const run = vi.spyOn(backend.connection, "run");
    await extendsInOneCall(backend.retry(), backend.retry(), run, clock);
  });

  describe("journal", () => {
    const DAY_MS = 86_400_000;
    const record = (clock: Clock, machineName = "orders"): InstanceRecord => ({
      correlationId: randomUUID(),
      machineName,
      status: "running",
      state: "start",
      userContext: {},
      startedAt: clock.now(),
      updatedAt: clock.now(),
    });
    /** Every key of the prefix that names the instance (its own keys; index keys never do). */
    const keysNaming = async (redis: Redis, prefix: string, correlationId: string) => {
      const keys: string[] = [];
      let cursor = "0";
      do {
        const [next, found] = await redis.scan(cursor, "MATCH", `*${prefix}*${correlationId}*`, "COUNT", 1000);
        keys.push(...found);
        cursor = next;
      } while (cursor !== "0");
      return keys;
    };

    it("keeps an instance in exactly the list indexes of its shown status, through pauses, parks and its end", async () => {
      const clock = new TestClock();
      const { backend, prefix } = await open(clock);
      const journal = backend.journal();
      const redis = raw();
      const put = record(clock);
      const id = put.correlationId;
      await journal.createInstances([put]);
      // Where the instance is listed: by status (or all), overall and for its machine.
      const listedAs = async () => {
        const where: string[] = [];
        for (const status of [...INSTANCE_STATUSES, "all"] as const) {
          for (const machine of [undefined, "orders"]) {
            const score = await redis.zscore(journalListKey(prefix, status, machine), id);
            if (score !== null) {
              expect(Number(score)).toBe(-put.startedAt);
              where.push(machine === undefined ? status : `${status}:${machine}`);
            }
          }
        }
        return where;
      };
      const only = (status: string) => [status, `${status}:orders`, "all", "all:orders"];
      const update = (steps: number, status: "running" | "waiting" | "completed") =>
        journal.updateInstance(id, { machineName: "orders", status, state: `s${steps}`, userContext: {}, reason: undefined, steps });
      const parked = { correlationId: id, machineName: "orders", state: "s1", steps: 2, retries: 0, body: "{}", parkedAt: clock.now() };

      expect(await listedAs()).toEqual(only("running"));
      await update(1, "waiting");
      expect(await listedAs()).toEqual(only("waiting"));
      await journal.setPaused(id, true);
      expect(await listedAs()).toEqual(only("paused"));
      expect(await journal.park(parked)).toBe(true);
      await journal.setPaused(id, false);
      expect(await listedAs()).toEqual(only("paused"));
      expect((await journal.list({ status: "paused" })).map((r) => r.correlationId)).toEqual([id]);
      await journal.unpark(id, 2, 0);
      expect(await listedAs()).toEqual(only("waiting"));
      await update(2, "completed");
      await journal.setPaused(id, true);
      expect(await listedAs()).toEqual(only("completed"));
      expect((await journal.list({ status: "completed" })).map((r) => r.correlationId)).toEqual([id]);

      // Deleted with a message parked under a machine pause: no key of it, no index entry left.
      await journal.addPause({ machineName: "orders" });
      expect(await journal.park(parked)).toBe(true);
      await journal.appendMessage(id, { current_state: "s", current_event: "e", steps: 1, retries: 0, user_context: {}, role: "stream", side: "primary" });
      expect(await redis.zcard(journalMachineParkedKey(prefix, "orders"))).toBe(1);
      await journal.deleteInstance(id);
      expect(await listedAs()).toEqual([]);
      expect(await redis.zcard(journalMachineParkedKey(prefix, "orders"))).toBe(0);
      expect(await redis.zscore(journalSharedKeys(prefix).finished, id)).toBeNull();
      expect(await keysNaming(redis, prefix, id)).toEqual([]);
    });

    it("deletes instances finished longer ago than journal_ttl_days, with every key and index entry, as later updates go by", async () => {
      const clock = new TestClock();
      const { backend, prefix } = await open(clock, undefined, "&journal_ttl_days=1");
      const journal = backend.journal();
      const redis = raw();
      const [done, failed, live, redriven, later] = Array.from({ length: 5 }, () => record(clock));
      const all = [done, failed, live, redriven, later] as InstanceRecord[];
      await journal.createInstances(all);
      const id = (r: InstanceRecord | undefined) => r?.correlationId as string;
      const update = (r: InstanceRecord | undefined, steps: number, status: "waiting" | "completed" | "failed") =>
        journal.updateInstance(id(r), { machineName: "orders", status, state: "s", userContext: {}, reason: undefined, steps });
      await journal.appendMessage(id(done), { current_state: "s", current_event: "e", steps: 1, retries: 0, user_context: {}, role: "stream", side: "primary" });
      await journal.appendErrors(id(done), { counters: { retry: 1 }, dimensions: { machine_name: "orders", current_state: "s", current_event: "e" } });
      await journal.appendAttempt(id(failed), { at: clock.now(), current_state: "s", current_event: "e", steps: 1, retries: 0, outcome: "fatal", error_name: "Error", error: "no" });
      await update(done, 1, "completed");
      await update(failed, 1, "failed");
      await update(redriven, 1, "failed");
      await update(live, 1, "waiting");
      expect(await journal.reopen(id(redriven), 1)).toBe(true);
      clock.advance(DAY_MS - 1);
      await update(later, 1, "completed");
      // Not a day yet: all kept.
      expect(await journal.list({})).toHaveLength(5);
      clock.advance(2);
      // The next update sweeps: the two finished a day ago go; the one finished just now, the
      // waiting one and the redriven one stay.
      await update(live, 2, "waiting");
      const kept = (await journal.list({})).map((r) => r.correlationId).sort();
      expect(kept).toEqual([id(live), id(redriven), id(later)].sort());
      for (const gone of [done, failed]) {
        expect(await journal.getInstance(id(gone))).toBeUndefined();
        expect(await keysNaming(redis, prefix, id(gone))).toEqual([]);
      }
      expect(await journal.list({ status: "failed" })).toEqual([]);
      expect(await redis.zrange(journalSharedKeys(prefix).finished, 0, "-1")).toEqual([id(later)]);

      // Without the option, nothing is deleted, however old.
      const forever = (await open(clock, prefix)).backend.journal();
      clock.advance(10 * DAY_MS);
      await forever.updateInstance(id(live), { machineName: "orders", status: "waiting", state: "s", userContext: {}, reason: undefined, steps: 3 });
      expect(await journal.getInstance(id(later))).toMatchObject({ status: "completed" });
    });
  });

  it("parses its URI and rejects bad ones with one line", () => {
    expect(parseRedisUri("redis://127.0.0.1:6380/3?prefix=orders")).toMatchObject({
      host: "127.0.0.1",
      port: 6380,
      db: 3,
      tls: false,
      prefix: "orders",
      timeoutMs: 2000,
    });
    expect(parseRedisUri("rediss://user:secret@cache.example.com")).toMatchObject({
      host: "cache.example.com",
      port: 6379,
      db: 0,
      tls: true,
      prefix: "switchyard",
      username: "user",
      password: "secret",
    });
    expect(parseRedisUri("redis://h:6379/0?journal_ttl_days=30")).toMatchObject({ journalTtlDays: 30 });
    expect(parseRedisUri("redis://h:6379/0").journalTtlDays).toBeUndefined();
    expect(() => parseRedisUri("redis://h:6379/0?prefx=a")).toThrow(/unknown option "prefx"; known options: prefix, timeout_ms, journal_ttl_days$/);
    expect(() => parseRedisUri("redis://h:6379/zero")).toThrow(/names database "zero"/);
    expect(() => parseRedisUri("redis://h:6379/0?prefix=a{b}")).toThrow(/without spaces or braces/);
    expect(() => parseRedisUri("redis://:pw@h:6379/0?prefx=a")).toThrow(/redis:\/\/:\*\*\*@h/);
  });

  it("range-checks every number of its URI, with one line naming the option and its range", () => {
    expect(parseRedisUri("redis://h:65535/2147483647?timeout_ms=2147483647")).toMatchObject({ port: 65535, db: 2147483647, timeoutMs: 2147483647 });
    const timer = "whole number of milliseconds from 1 to 2147483647 (the longest timer Node.js can set)";
    expect(() => parseRedisUri("redis://h:6379/0?timeout_ms=1e12")).toThrow(`Redis URI "redis://h:6379/0?timeout_ms=1e12": timeout_ms must be a ${timer}, got "1e12"`);
    expect(() => parseRedisUri("redis://h:6379/0?timeout_ms=0")).toThrow(`timeout_ms must be a ${timer}, got "0"`);
    expect(() => parseRedisUri("redis://h:6379/0?timeout_ms=")).toThrow(`timeout_ms must be a ${timer}, got ""`);
    expect(() => parseRedisUri("redis://h:0/0")).toThrow('Redis URI "redis://h:0/0": port must be a whole number from 1 to 65535, got "0"');
    expect(() => parseRedisUri("redis://h:6379/2147483648")).toThrow('database must be a whole number from 0 to 2147483647, got "2147483648"');
    const days = "whole number of days from 1 to 36500";
    expect(() => parseRedisUri("redis://h:6379/0?journal_ttl_days=0")).toThrow(`Redis URI "redis://h:6379/0?journal_ttl_days=0": journal_ttl_days must be a ${days}, got "0"`);
    expect(() => parseRedisUri("redis://h:6379/0?journal_ttl_days=1.5")).toThrow(`journal_ttl_days must be a ${days}, got "1.5"`);
    expect(() => parseRedisUri("redis://h:6379/0?journal_ttl_days=")).toThrow(`journal_ttl_days must be a ${days}, got ""`);
  });
});
