/** Helpers for the Lambda handler tests: recorded AWS events and a SQLite-backed Switchyard. */
import { readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import type { Switchyard } from "../../../src/client/switchyard.js";
import type { LambdaEventSource, LambdaRecordCodec } from "../../../src/lambda-port.js";
import type { MessageSource } from "../../../src/ports.js";

const FIXTURES = path.join(path.dirname(fileURLToPath(import.meta.url)), "../../fixtures/lambda");

/** A recorded AWS event from test/fixtures/lambda (a fresh copy each time). */
export function fixture(name: string): Record<string, unknown> {
  return JSON.parse(readFileSync(path.join(FIXTURES, `${name}.json`), "utf8")) as Record<string, unknown>;
}

/** A codec for sources whose records the tests never decode (the timer path). */
const NO_RECORDS: LambdaRecordCodec = {
  eventSource: "none",
  decode: () => {
    throw new Error("this source has no Lambda records");
  },
};

/**
 * A real (SQLite) message source presented under an ARN, as a Lambda event source with the given
 * transport's codec: what the handler's timer and record paths see of an AWS transport.
 * Dead-lettered and settled messages are recorded for the assertions.
 */
export function lambdaSource(
  source: MessageSource,
  arn: string,
  options: { codec?: LambdaRecordCodec; polledOnTimer?: boolean; deadLetterFails?: boolean } = {},
) {
  const deadLetters: Array<{ id: string; reason: string }> = [];
  const settled: string[] = [];
  const adapted: LambdaEventSource = {
    uri: arn,
    arn,
    codec: options.codec ?? NO_RECORDS,
    role: source.role,
    side: source.side,
    filtersByCorrelationId: source.filtersByCorrelationId,
    polledOnTimer: options.polledOnTimer ?? false,
    receive: (receive) => source.receive(receive),
    ack: (delivery) => source.ack(delivery),
    release: (delivery, delay) => source.release(delivery, delay),
    extend: (delivery, seconds) => source.extend(delivery, seconds),
    pending: (id) => source.pending?.(id) ?? Promise.resolve(0),
    async deadLetter(delivery, reason) {
      if (options.deadLetterFails) throw new Error("dead-letter store unreachable");
      deadLetters.push({ id: delivery.id, reason });
    },
    lambdaEvent: (deliveries) => ({ Records: deliveries }),
    itemIdentifier: (delivery) => delivery.id,
    async settle(record) {
      settled.push(record.itemIdentifier);
    },
  };
  return { source: adapted, deadLetters, settled };
}

/** The parts of a Switchyard the handler's record and timer paths use, with other sources. */
export function withSources(sy: Switchyard, sources: readonly MessageSource[]): Switchyard {
  return { engine: sy.engine, sources, settings: sy.settings, definitions: sy.definitions, pending: async () => 0 } as unknown as Switchyard;
}
