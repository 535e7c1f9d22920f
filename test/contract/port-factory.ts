import { expect } from "vitest";
import type { DeadLetterStore, MessageSource } from "../../src/ports.js";
import type { TestClock } from "../support/clock.js";

/** A port under test and how to dispose of it; `Extra` lets a backend expose what a port cannot. */
export type PortFixture<P, Extra = unknown> = { readonly port: P; cleanup(): Promise<void> } & Extra;

/** Builds a fresh, empty port driven by `clock` (one per test; names must be random). */
export type PortFactory<P, Extra = unknown> = (clock: TestClock) => Promise<PortFixture<P, Extra>>;

/** The store a source moves its dead letters to (every stream and retry backend keeps them). */
export interface DeadLetterInspection {
  readonly deadLetters: DeadLetterStore;
}

/**
 * What a stream or retry source promises where backends differ; the contracts pin each declaration
 * and hold the source to it, instead of skipping what a backend does differently.
 */
export interface SourceTraits {
  /** {@link MessageSource.filtersByCorrelationId}: receives one instance's messages apart (else refuses to). */
  readonly byCorrelationId: boolean;
  /** `pending(correlationId)` counts one instance's messages; false: it refuses (SQS and SNS count whole queues only). */
  readonly countsOneInstance: boolean;
  /** A message not yet due holds back the messages sent after it (Kinesis: it holds its shard). */
  readonly delayHoldsLater?: boolean;
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
 * With exactly two dead letters in `store` (bodies `goneBody` and `keptBody`): `remove` takes
 * exactly the one named by the id the store gave it, `get` agrees, and removing it again is false.
 */
export async function expectRemovesExactlyOne(store: DeadLetterStore, goneBody: string, keptBody: string): Promise<void> {
  const letters = await store.list();
  expect(letters.map((letter) => letter.body).sort()).toEqual([goneBody, keptBody].sort());
  const gone = letters.find((letter) => letter.body === goneBody)!;
  const kept = letters.find((letter) => letter.body === keptBody)!;
  expect(await store.get(gone.id)).toEqual(gone);
  expect(await store.remove(gone.id)).toBe(true);
  expect(await store.list()).toEqual([kept]);
  expect(await store.get(gone.id)).toBeUndefined();
  expect(await store.get(kept.id)).toEqual(kept);
  expect(await store.remove(gone.id)).toBe(false);
  expect(await store.list()).toEqual([kept]);
}
