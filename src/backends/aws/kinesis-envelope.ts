/**
 * What a Switchyard Kinesis record carries: the wire message and its due time (ms by the sender's
 * clock; Kinesis has no delays, so the consumer waits for it), plus the correlation id and step for
 * people and tools reading the stream. Records written by others (not an envelope) are read as a
 * body due at once.
 */
import type { OutgoingMessage } from "../../ports.js";
import type { ScheduleMark } from "./sqs-attributes.js";

/** The JSON inside a record's data. */
export interface Envelope {
  /** Format marker. */
  readonly switchyard: 1;
  readonly body: string;
  /** Due time, ms since the epoch by the sender's clock. */
  readonly due: number;
  readonly correlationId: string;
  readonly steps: number;
  readonly retries: number;
  /** Retry entries: the schedule mark that lets a consumer drop a replaced entry. */
  readonly token?: string | undefined;
  readonly scheduledAt?: number | undefined;
}

/** The envelope of an outgoing message due at `due`. */
export function envelopeOf(message: OutgoingMessage, due: number, mark?: ScheduleMark): Envelope {
  return {
    switchyard: 1,
    body: message.body,
    due,
    correlationId: message.correlationId,
    steps: message.steps,
    retries: message.retries,
    ...(mark === undefined ? {} : { token: mark.token, scheduledAt: mark.at }),
  };
}

/** Encode an envelope as record data. */
export function encodeEnvelope(envelope: Envelope): Uint8Array {
  return Buffer.from(JSON.stringify(envelope), "utf8");
}

/** Decode record data; data that is not an envelope becomes a body due at once. */
export function decodeEnvelope(data: Uint8Array): Envelope {
  const text = Buffer.from(data).toString("utf8");
  try {
    const parsed = JSON.parse(text) as Partial<Envelope> | null;
    if (parsed !== null && typeof parsed === "object" && parsed.switchyard === 1 && typeof parsed.body === "string") {
      return {
        switchyard: 1,
        body: parsed.body,
        due: typeof parsed.due === "number" ? parsed.due : 0,
        correlationId: typeof parsed.correlationId === "string" ? parsed.correlationId : "",
        steps: typeof parsed.steps === "number" ? parsed.steps : -1,
        retries: typeof parsed.retries === "number" ? parsed.retries : 0,
        token: typeof parsed.token === "string" ? parsed.token : undefined,
        scheduledAt: typeof parsed.scheduledAt === "number" ? parsed.scheduledAt : undefined,
      };
    }
  } catch {
    // not JSON: a foreign record
  }
  return { switchyard: 1, body: text, due: 0, correlationId: "", steps: -1, retries: 0 };
}

/** The partition key of a message: its correlation id (Kinesis needs 1–256 characters). */
export function partitionKey(correlationId: string): string {
  return correlationId === "" ? "-" : correlationId.slice(0, 256);
}
