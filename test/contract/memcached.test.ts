/**
 * The cache contract against the real Memcached server, each test under its own random key prefix,
 * and what only the Memcached backend promises: its text-protocol client, fail-fast calls when the
 * server is down, fences that survive their lease key, safe keys for any correlation id.
 */
import { randomUUID } from "node:crypto";
import { afterAll, afterEach, describe, expect, it } from "vitest";
import type { BackendContext } from "../../src/backends/backend.js";
import { MemcachedClient } from "../../src/backends/memcached/client.js";
import { type MemcachedBackend, openMemcachedBackend } from "../../src/backends/memcached/backend.js";
import { instanceKeys } from "../../src/backends/memcached/keys.js";
import { parseMemcachedUri } from "../../src/backends/memcached/uri.js";
import { silentLogger } from "../../src/logger.js";
import type { Clock } from "../../src/ports.js";
import { TestClock } from "../support/clock.js";
import { countMemcachedKeys, deleteMemcachedKeys } from "../support/memcached-keys.js";
import { MEMCACHED_URL, needs, silentServer, uniqueName } from "../support/servers.js";
import { cacheContract } from "./cache.contract.js";

const run = uniqueName("memcached_test");
afterAll(() => deleteMemcachedKeys(run));

const context = (clock: Clock): BackendContext => ({ clock, baseDir: process.cwd(), endpoints: {}, logger: silentLogger });
const location = parseMemcachedUri(MEMCACHED_URL);

async function openFresh(clock: Clock, prefix = `${run}_${randomUUID().slice(0, 8)}`) {
  const backend = await openMemcachedBackend(`${MEMCACHED_URL}?prefix=${prefix}`, context(clock));
  return {
    backend,
    prefix,
    cleanup: async () => {
      await backend.close();
      await deleteMemcachedKeys(prefix);
    },
  };
}

describe("the port contracts on Memcached", needs("memcached"), () => {
  cacheContract("memcached", async (clock) => {
    const { backend, cleanup } = await openFresh(clock);
    return { port: backend.cache(), cleanup };
  });
});

describe("memcached backend", needs("memcached"), () => {
  const cleanups: Array<() => Promise<void>> = [];
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });
  const open = async (clock: Clock = new TestClock()): Promise<{ backend: MemcachedBackend; prefix: string }> => {
    const opened = await openFresh(clock);
    cleanups.push(opened.cleanup);
    return opened;
  };
  const client = (options: { host?: string; port?: number; timeoutMs?: number } = {}) => {
    const made = new MemcachedClient({ host: options.host ?? location.host, port: options.port ?? location.port, timeoutMs: options.timeoutMs ?? 2_000 });
    cleanups.push(() => made.close());
    return made;
  };

  it("fails port calls fast with one clear line when the server is down", async () => {
    const backend = await openMemcachedBackend("memcached://127.0.0.1:1?prefix=nowhere", context(new TestClock()));
    cleanups.push(() => backend.close());
    const started = Date.now();
    const cache = backend.cache();
    for (const call of [cache.acquireLease("c1", 1, 0, 60), cache.isDispatched("c1", 1), cache.markDispatched("c1", 1, 60)]) {
      await expect(call).rejects.toThrow(/^cannot reach Memcached at 127\.0\.0\.1:1 \(ECONNREFUSED\); check the memcached:\/\/ URI and that the server runs$/);
    }
    expect(Date.now() - started).toBeLessThan(2_000);
    await expect(cache.releaseLease("c1", 1, 0, 1)).rejects.toMatchObject({ name: "SystemError" });
  });

  it("times out a server that accepts but never answers, failing every waiting call", async () => {
    const silent = await silentServer();
    cleanups.push(() => silent.close());
    const { port } = silent;
    const mute = client({ host: "127.0.0.1", port, timeoutMs: 300 });
    const started = Date.now();
    const calls = [mute.get("a"), mute.set("b", "1", 60)];
    await expect(calls[0]).rejects.toThrow(`Memcached at 127.0.0.1:${port} did not answer get within 300 ms`);
    await expect(calls[1]).rejects.toThrow(/did not answer get within 300 ms/);
    expect(Date.now() - started).toBeLessThan(1_500);
  });

  it("speaks the text protocol: pipelined get, gets, set, add, cas, incr, touch, delete", async () => {
    const { prefix } = await open();
    const mc = client();
    const key = `${prefix}:raw`;
    const value = "välue with spaces\r\nand a line break";
    const [added, again] = await Promise.all([mc.add(key, value, 60), mc.add(key, "other", 60)]);
    expect([added, again]).toEqual(["STORED", "NOT_STORED"]);
    const [plain, withCas, missing] = await Promise.all([mc.get(key), mc.gets(key), mc.get(`${prefix}:absent`)]);
    expect(plain).toMatchObject({ key, value, cas: undefined });
    expect(withCas?.cas).toMatch(/^\d+$/);
    expect(missing).toBeUndefined();
    expect(await mc.cas(key, "new", 60, withCas?.cas as string)).toBe("STORED");
    expect(await mc.cas(key, "newer", 60, withCas?.cas as string)).toBe("EXISTS");
    expect(await mc.set(`${prefix}:n`, "41", 60)).toBe("STORED");
    expect(await mc.incr(`${prefix}:n`)).toBe(42);
    expect(await mc.incr(`${prefix}:absent`)).toBeUndefined();
    expect(await mc.touch(key, 120)).toBe(true);
    expect(await mc.delete(key)).toBe(true);
    expect(await mc.delete(key)).toBe(false);
    const big = "x".repeat(200_000);
    expect(await mc.set(`${prefix}:big`, big, 60)).toBe("STORED");
    expect((await mc.get(`${prefix}:big`))?.value).toBe(big);
    await expect(mc.get("has space")).rejects.toThrow(/invalid Memcached key "has space"/);
    await expect(mc.incr(key.replace("raw", "big"))).rejects.toThrow(/Memcached at .*: incr failed: CLIENT_ERROR/);
    // The connection is still in step after an error reply.
    expect((await mc.get(`${prefix}:n`))?.value).toBe("42");
  });

  it("keeps fence tokens growing after the lease key is gone", async () => {
    const { backend, prefix } = await open();
    const cache = backend.cache();
    expect(await cache.acquireLease("c1", 1, 0, 10)).toEqual({ acquired: true, fenceToken: 1 });
    await client().delete(instanceKeys(prefix, "c1").lease);
    expect(await cache.acquireLease("c1", 2, 0, 10)).toEqual({ acquired: true, fenceToken: 2 });
  });

  it("keeps fence tokens growing after the fence counter is gone", async () => {
    const { backend, prefix } = await open();
    const cache = backend.cache();
    const first = await cache.acquireLease("c1", 1, 0, 10);
    expect(first).toEqual({ acquired: true, fenceToken: 1 });
    if (first.acquired) await cache.releaseLease("c1", 1, 0, first.fenceToken);
    await client().delete(instanceKeys(prefix, "c1").fence);
    expect(await cache.acquireLease("c1", 2, 0, 10)).toEqual({ acquired: true, fenceToken: 2 });
  });

  it("lets exactly one of many concurrent takers win a lease", async () => {
    const clock = new TestClock();
    const { backend } = await open(clock);
    const others = await Promise.all(Array.from({ length: 4 }, () => openMemcachedBackend(backend.uri, context(clock))));
    cleanups.push(async () => {
      for (const other of others) await other.close();
    });
    const caches = [backend, ...others].map((b) => b.cache());
    const results = await Promise.all(caches.flatMap((cache) => [cache.acquireLease("hot", 1, 0, 60), cache.acquireLease("hot", 1, 0, 60)]));
    const winners = results.filter((r) => r.acquired);
    expect(winners).toHaveLength(1);
    for (const loser of results.filter((r) => !r.acquired)) {
      if (loser.heldUntil !== undefined) expect(loser.heldUntil).toBe(clock.now() + 60_000);
    }
  });

  it("stores any correlation id under a valid key", async () => {
    const { backend, prefix } = await open();
    const cache = backend.cache();
    for (const id of ["with space", "ünïcödé", "x".repeat(400)]) {
      expect(await cache.acquireLease(id, 1, 0, 60)).toEqual({ acquired: true, fenceToken: 1 });
      await cache.markDispatched(id, 1, 60);
      expect(await cache.isDispatched(id, 1)).toBe(true);
    }
    expect(instanceKeys(prefix, "with space").lease).toMatch(new RegExp(`^${prefix}:lease#[A-Za-z0-9_-]{43}$`));
    expect(await countMemcachedKeys(prefix)).toBe(9);
  });

  it("parses its URI and rejects bad ones with one line", () => {
    expect(parseMemcachedUri("memcached://cache.local?prefix=orders")).toMatchObject({
      host: "cache.local",
      port: 11211,
      prefix: "orders",
      timeoutMs: 2000,
    });
    expect(parseMemcachedUri("memcached://10.0.0.5:11311?timeout_ms=500")).toMatchObject({ port: 11311, prefix: "switchyard", timeoutMs: 500 });
    expect(() => parseMemcachedUri("memcached://h?prefx=a")).toThrow(/unknown option "prefx"; known options: prefix, timeout_ms/);
    expect(() => parseMemcachedUri("memcached://h/0")).toThrow(/has a path; Memcached has no databases/);
    expect(() => parseMemcachedUri("memcached://h?timeout_ms=soon")).toThrow(/timeout_ms must be a whole number of milliseconds/);
  });

  it("range-checks every number of its URI, with one line naming the option and its range", () => {
    expect(parseMemcachedUri("memcached://h:65535?timeout_ms=2147483647")).toMatchObject({ port: 65535, timeoutMs: 2147483647 });
    const timer = "whole number of milliseconds from 1 to 2147483647 (the longest timer Node.js can set)";
    expect(() => parseMemcachedUri("memcached://h?timeout_ms=2147483648")).toThrow(
      `Memcached URI "memcached://h?timeout_ms=2147483648": timeout_ms must be a ${timer}, got "2147483648"`,
    );
    expect(() => parseMemcachedUri("memcached://h?timeout_ms=-5")).toThrow(`timeout_ms must be a ${timer}, got "-5"`);
    expect(() => parseMemcachedUri("memcached://h:0")).toThrow('Memcached URI "memcached://h:0": port must be a whole number from 1 to 65535, got "0"');
  });
});
