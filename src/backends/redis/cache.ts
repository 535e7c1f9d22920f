/**
 * The `cache` role on Redis: one lease hash, one fence counter and one dispatched mark per
 * instance, changed only by atomic Lua scripts. Lease expiry is judged by the injected clock's
 * `now`; key TTLs (lease timeout + an hour, 30 days for the fence counter) only collect garbage.
 */
import type { CachePort, Clock, LeaseResult } from "../../ports.js";
import type { RedisConnection } from "./connection.js";
import { cacheKeys } from "./keys.js";

/** Real-time margin added to key TTLs, so a key outlives what the injected clock says about it. */
const GC_MARGIN_MS = 3_600_000;
/** How long an idle instance's fence counter is kept (renewed by every acquisition). */
export const FENCE_TTL_MS = 30 * 24 * 3_600_000;

/** Cache port over an instance's `lease`, `fence` and `dispatched` keys. */
export class RedisCache implements CachePort {
  readonly uri: string;
  readonly #connection: RedisConnection;
  readonly #clock: Clock;
  readonly #prefix: string;

  constructor(uri: string, connection: RedisConnection, clock: Clock) {
    this.uri = uri;
    this.#connection = connection;
    this.#clock = clock;
    this.#prefix = connection.location.prefix;
  }

  async acquireLease(correlationId: string, steps: number, retries: number, timeoutSeconds: number, minFenceToken = 0): Promise<LeaseResult> {
    const { lease, fence } = cacheKeys(this.#prefix, correlationId);
    const args = leaseAcquireArgs(steps, retries, this.#clock.now(), timeoutSeconds, minFenceToken);
    const reply = await this.#connection.run("acquire lease", (redis) => redis.syLeaseAcquire(lease, fence, ...args));
    return leaseResultOf(reply);
  }

  async releaseLease(correlationId: string, steps: number, retries: number, fenceToken: number): Promise<boolean> {
    const { lease } = cacheKeys(this.#prefix, correlationId);
    const released = await this.#connection.run("release lease", (redis) => redis.syLeaseRelease(lease, steps, retries, fenceToken));
    return released === 1;
  }

  async isDispatched(correlationId: string, steps: number): Promise<boolean> {
    const { dispatched } = cacheKeys(this.#prefix, correlationId);
    const now = this.#clock.now();
    const [marked, until] = await this.#connection.run("read dispatched flag", (redis) => redis.hmget(dispatched, "steps", "until"));
    return marked !== null && until !== null && Number(marked) >= steps && Number(until) > now;
  }

  async raiseFence(correlationId: string, fenceToken: number): Promise<void> {
    const { fence } = cacheKeys(this.#prefix, correlationId);
    await this.#connection.run("raise fence", (redis) => redis.syFenceRaise(fence, fenceToken, FENCE_TTL_MS));
  }

  async markDispatched(correlationId: string, steps: number, ttlSeconds: number): Promise<void> {
    const { dispatched } = cacheKeys(this.#prefix, correlationId);
    const args = markDispatchedArgs(steps, this.#clock.now(), ttlSeconds);
    await this.#connection.run("mark dispatched", (redis) => redis.syMarkDispatched(dispatched, ...args));
  }
}

/** The arguments of `syLeaseAcquire` after its keys, at `now` by the port's clock. */
export function leaseAcquireArgs(steps: number, retries: number, now: number, timeoutSeconds: number, minFenceToken: number): number[] {
  const timeoutMs = Math.ceil(timeoutSeconds * 1000);
  return [steps, retries, now, now + timeoutMs, timeoutMs + GC_MARGIN_MS, FENCE_TTL_MS, minFenceToken];
}

/** The lease acquisition's reply (`[1, fence]` or `[0, heldUntil]`) as the port's result. */
export function leaseResultOf([taken, value]: readonly [number, number | string]): LeaseResult {
  return taken === 1 ? { acquired: true, fenceToken: Number(value) } : { acquired: false, heldUntil: Number(value) };
}

/** The arguments of `syMarkDispatched` after its key, at `now` by the port's clock. */
export function markDispatchedArgs(steps: number, now: number, ttlSeconds: number): number[] {
  const ttlMs = Math.ceil(ttlSeconds * 1000);
  return [steps, now + ttlMs, ttlMs + GC_MARGIN_MS];
}
