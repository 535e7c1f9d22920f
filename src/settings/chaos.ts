/**
 * Chaos (SPEC §4): a wrapper that makes a fraction of the calls to a port fail with an injected
 * system error. Applied to the ports the engine and the client call, never to polling consumers.
 */
import { ChaosError } from "../errors.js";

/**
 * Wrap every method of `port` so that, with probability `rate`, the call rejects with a
 * {@link ChaosError} naming `target` instead of reaching the backend.
 */
export function withChaos<T extends object>(port: T, rate: number, target: string, random: () => number): T {
  if (rate <= 0) return port;
  return new Proxy(port, {
    get(object, key) {
      const value: unknown = Reflect.get(object, key, object);
      if (typeof value !== "function") return value;
      return (...args: unknown[]) => {
        if (random() < rate) return Promise.reject(new ChaosError(target));
        return (value as (...a: unknown[]) => unknown).apply(object, args);
      };
    },
  });
}
