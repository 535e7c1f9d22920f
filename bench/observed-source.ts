/**
 * A message source that tells the benchmark when each delivery was received; the worker's
 * `onSettled` tells it when each was acknowledged (by an ack, or with its fused transition).
 */
import type { ProcessOutcome } from "../src/engine/engine.js";
import type { Delivery, MessageSource } from "../src/ports.js";

export interface SourceObserver {
  /** Called with each delivery as soon as its receive returned. */
  received(delivery: Delivery): void;
  /**
   * Called once the delivery was acknowledged (the worker's `onSettled`). A next message its
   * commit claimed for the worker counts as received then (it needs no receive).
   */
  settled(delivery: Delivery, outcome: ProcessOutcome): void;
}

/** Wrap `source` so `observer` sees every receive; everything passes through. */
export function observed(source: MessageSource, observer: SourceObserver): MessageSource {
  return {
    uri: source.uri,
    role: source.role,
    side: source.side,
    filtersByCorrelationId: source.filtersByCorrelationId,
    async receive(options) {
      const deliveries = await source.receive(options);
      for (const delivery of deliveries) observer.received(delivery);
      return deliveries;
    },
    ack: (delivery) => source.ack(delivery),
    release: (delivery, delaySeconds) => source.release(delivery, delaySeconds),
    extend: (delivery, seconds) => source.extend(delivery, seconds),
    deadLetter: (delivery, reason) => source.deadLetter(delivery, reason),
    pending: (correlationId) => source.pending?.(correlationId) ?? Promise.resolve(0),
    ...(source.onWork === undefined ? {} : { onWork: (listener: () => void) => source.onWork?.(listener) ?? (() => {}) }),
  };
}
