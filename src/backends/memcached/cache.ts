/**
 * The `cache` role on Memcached, by compare-and-swap: a lease is read with `gets` and written with
 * `cas` (or `add` when absent), so two takers cannot both win. The fence token lives in the lease
 * value and in a separate counter key (`add`, then `incr`), so tokens never go backwards when the
 * lease key expires. Lease expiry and dispatched-flag lifetimes are judged by the injected clock's
 * `now`; Memcached's exptime only collects garbage.
 */
import { SystemError } from "../../errors.js";
import type { CachePort, Clock, LeaseResult } from "../../ports.js";
import type { MemcachedClient, MemcachedValue } from "./client.js";
import { instanceKeys } from "./keys.js";

/** Real-time margin (seconds) added to exptimes, so a key outlives what the injected clock says. */
const GC_MARGIN_SECONDS = 3_600;
/** Longest relative exptime Memcached accepts (30 days); the fence counter's lifetime. */
export const MAX_EXPTIME = 30 * 24 * 3_600;
/** Compare-and-swap rounds before giving up on a key others keep changing. */
const CAS_ATTEMPTS = 10;

interface Lease {
  /** `leased` or `released`. */
  readonly st: string;
  readonly s: number;
  readonly r: number;
  readonly f: number;
  /** Held until (ms since the epoch, injected clock). */
  readonly e: number;
}

interface Dispatched {
  /** Highest dispatched step. */
  readonly s: number;
  /** Valid until (ms since the epoch, injected clock). */
  readonly u: number;
}

const exptime = (seconds: number) => Math.min(MAX_EXPTIME, Math.ceil(seconds) + GC_MARGIN_SECONDS);

/** Cache port over one Memcached server, keys under one prefix. */
export class MemcachedCache implements CachePort {
  readonly uri: string;
  readonly #client: MemcachedClient;
  readonly #clock: Clock;
  readonly #prefix: string;

  constructor(uri: string, client: MemcachedClient, clock: Clock, prefix: string) {
    this.uri = uri;
    this.#client = client;
    this.#clock = clock;
    this.#prefix = prefix;
  }

  async acquireLease(correlationId: string, steps: number, retries: number, timeoutSeconds: number, minFenceToken = 0): Promise<LeaseResult> {
    const keys = instanceKeys(this.#prefix, correlationId);
    const now = this.#clock.now();
    for (let attempt = 0; attempt < CAS_ATTEMPTS; attempt++) {
      const stored = await this.#client.gets(keys.lease);
      const current = parse<Lease>(stored);
      if (current !== undefined && current.st === "leased" && current.e >= now) return { acquired: false, heldUntil: current.e };
      const fence = await this.#nextFence(keys.fence, Math.max(current?.f ?? 0, minFenceToken));
      const lease: Lease = { st: "leased", s: steps, r: retries, f: fence, e: now + timeoutSeconds * 1000 };
      if (await this.#write(keys.lease, stored, JSON.stringify(lease), exptime(timeoutSeconds))) {
        return { acquired: true, fenceToken: fence };
      }
    }
    // Someone else keeps changing the lease: it is theirs.
    return { acquired: false };
  }

  async releaseLease(correlationId: string, steps: number, retries: number, fenceToken: number): Promise<boolean> {
    const { lease: key } = instanceKeys(this.#prefix, correlationId);
    for (let attempt = 0; attempt < CAS_ATTEMPTS; attempt++) {
      const stored = await this.#client.gets(key);
      const lease = parse<Lease>(stored);
      if (lease === undefined || lease.st !== "leased" || lease.s !== steps || lease.r !== retries || lease.f !== fenceToken) return false;
      const remaining = Math.max(0, (lease.e - this.#clock.now()) / 1000);
      if (await this.#write(key, stored, JSON.stringify({ ...lease, st: "released" }), exptime(remaining))) return true;
    }
    return false;
  }

  async isDispatched(correlationId: string, steps: number): Promise<boolean> {
    const flag = parse<Dispatched>(await this.#client.get(instanceKeys(this.#prefix, correlationId).dispatched));
    return flag !== undefined && flag.s >= steps && flag.u > this.#clock.now();
  }

  async raiseFence(correlationId: string, fenceToken: number): Promise<void> {
    const { fence: key } = instanceKeys(this.#prefix, correlationId);
    for (let attempt = 0; attempt < CAS_ATTEMPTS; attempt++) {
      const current = await this.#client.incr(key, 0);
      if (current === undefined) {
        if ((await this.#client.add(key, String(fenceToken), MAX_EXPTIME)) === "STORED") return;
        continue;
      }
      if (current >= fenceToken) return;
      // Concurrent increments may take it past the token, which is fine: it only has to be at least that.
      await this.#client.incr(key, fenceToken - current);
      return;
    }
    throw new SystemError(`Memcached at ${this.#client.address}: could not raise fence counter ${key}; try again`);
  }

  async markDispatched(correlationId: string, steps: number, ttlSeconds: number): Promise<void> {
    const { dispatched: key } = instanceKeys(this.#prefix, correlationId);
    for (let attempt = 0; attempt < CAS_ATTEMPTS; attempt++) {
      const stored = await this.#client.gets(key);
      const flag = parse<Dispatched>(stored);
      const next: Dispatched = { s: Math.max(flag?.s ?? steps, steps), u: this.#clock.now() + ttlSeconds * 1000 };
      if (await this.#write(key, stored, JSON.stringify(next), exptime(ttlSeconds))) return;
    }
    throw new SystemError(
      `Memcached at ${this.#client.address}: could not mark ${correlationId} step ${steps} dispatched, the flag kept changing (${CAS_ATTEMPTS} attempts); try again`,
    );
  }

  /** The next fence token: one more than the counter, and more than `floor` if the counter was lost. */
  async #nextFence(key: string, floor: number): Promise<number> {
    for (let attempt = 0; attempt < CAS_ATTEMPTS; attempt++) {
      const next = await this.#client.incr(key);
      if (next !== undefined && next > floor) {
        await this.#client.touch(key, MAX_EXPTIME);
        return next;
      }
      if (next === undefined && (await this.#client.add(key, String(floor + 1), MAX_EXPTIME)) === "STORED") return floor + 1;
      // The counter came back lower than the lease's token (evicted and re-created): raise it.
      if (next !== undefined) await this.#client.incr(key, floor - next);
    }
    throw new SystemError(`Memcached at ${this.#client.address}: could not advance fence counter ${key}; try again`);
  }

  /** `add` when the key was absent, else `cas` against what was read; true if written. */
  async #write(key: string, read: MemcachedValue | undefined, value: string, seconds: number): Promise<boolean> {
    const reply = read?.cas === undefined ? await this.#client.add(key, value, seconds) : await this.#client.cas(key, value, seconds, read.cas);
    return reply === "STORED";
  }
}

/** The JSON value of a reply; an unreadable value counts as absent (it is overwritten by CAS). */
function parse<T>(stored: MemcachedValue | undefined): T | undefined {
  if (stored === undefined) return undefined;
  try {
    return JSON.parse(stored.value) as T;
  } catch {
    return undefined;
  }
}
