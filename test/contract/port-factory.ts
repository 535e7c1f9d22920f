import type { MessageSource } from "../../src/ports.js";
import type { TestClock } from "../support/clock.js";

/** A port under test and how to dispose of it; `Extra` lets a backend expose what a port cannot. */
export type PortFixture<P, Extra = unknown> = { readonly port: P; cleanup(): Promise<void> } & Extra;

/** Builds a fresh, empty port driven by `clock` (one per test; names must be random). */
export type PortFactory<P, Extra = unknown> = (clock: TestClock) => Promise<PortFixture<P, Extra>>;

/** What a test can read back of a dead letter. */
export interface DeadLetterView {
  readonly body: string;
  readonly reason: string;
}

/** Read access to a source's dead letters, where the backend has it. */
export interface DeadLetterInspection {
  deadLetters?(): Promise<DeadLetterView[]>;
}

/** A message to send in tests. */
export function message(correlationId: string, steps = 1, options: { body?: string; delaySeconds?: number; retries?: number } = {}) {
  return {
    correlationId,
    steps,
    retries: options.retries ?? 0,
    body: options.body ?? JSON.stringify({ correlationId, steps }),
    delaySeconds: options.delaySeconds ?? 0,
  };
}

/**
 * `source` as the contracts should see it when the backend cannot count one instance's messages:
 * `pending` reads as absent, so the contracts skip their `pending` cases (each caller says why and
 * tests its own count).
 */
export function withoutPending<T extends MessageSource>(source: T): T {
  return new Proxy(source, {
    get(target, property) {
      if (property === "pending") return undefined;
      const value = Reflect.get(target, property, target);
      return typeof value === "function" ? value.bind(target) : value;
    },
  });
}
