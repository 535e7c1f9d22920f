/**
 * What a Kinesis record's data holds: the wire message as the seed system writes it (the message
 * JSON itself, which the seed's consumer base64-decodes and parses), with Switchyard's metadata
 * under one more top-level key, `switchyard`, that the seed's reader ignores (it reads only
 * `system_context` and `user_context`):
 *
 * ```json
 * {"version": "0.1", "system_context": {…}, "user_context": {…},
 *  "switchyard": {"due": 1767225600000, "correlation_id": "…", "steps": 3, "retries": 0}}
 * ```
 *
 * The metadata is the due time (ms by the sender's clock: Kinesis has no delays, the consumer
 * waits for it), the correlation id, steps and retries, and for retry entries the schedule mark
 * (`token`, `scheduled_at`) that lets a consumer drop a replaced entry.
 *
 * Reading accepts three forms: this one; the seed's (no `switchyard` key: due at once); and the
 * envelope earlier Switchyard versions wrote (`{"switchyard": 1, "body": "…", "due": …}`). A seed
 * process that retries a record copies its top-level keys, metadata included, into a message with
 * other `retries`: metadata whose correlation id, steps or retries differ from the message's own
 * is stale and ignored. A body that is not a JSON object (no engine writes one) is sent in the old
 * envelope, the only form that can carry it with a due time; data that is not JSON at all is read
 * as a body due at once.
 */
import type { OutgoingMessage } from "../../ports.js";
import type { ScheduleMark } from "./sqs-attributes.js";

/** The top-level key of Switchyard's metadata. */
export const METADATA_KEY = "switchyard";

/** What a record carries, read back. */
export interface RecordData {
  /** The wire message, without Switchyard's metadata. */
  readonly body: string;
  /** Due time, ms since the epoch by the sender's clock; 0 when the record carries none. */
  readonly due: number;
  /** The message's correlation id, steps and retries ("" and -1 when neither metadata nor message say). */
  readonly correlationId: string;
  readonly steps: number;
  readonly retries: number;
  /** Retry entries: the schedule mark that lets a consumer drop a replaced entry. */
  readonly token?: string | undefined;
  readonly scheduledAt?: number | undefined;
}

/** The metadata object as written (snake case, like the message's own keys). */
interface Metadata {
  due: number;
  correlation_id: string;
  steps: number;
  retries: number;
  token?: string;
  scheduled_at?: number;
}

type JsonObject = Record<string, unknown>;

function asObject(value: unknown): JsonObject | undefined {
  return typeof value === "object" && value !== null && !Array.isArray(value) ? (value as JsonObject) : undefined;
}

function parseObject(text: string): JsonObject | undefined {
  try {
    return asObject(JSON.parse(text));
  } catch {
    return undefined;
  }
}

/** The record data of an outgoing message due at `due` (ms). */
export function encodeRecordData(message: OutgoingMessage, due: number, mark?: ScheduleMark): Uint8Array {
  const metadata: Metadata = { due, correlation_id: message.correlationId, steps: message.steps, retries: message.retries };
  if (mark !== undefined) {
    metadata.token = mark.token;
    metadata.scheduled_at = mark.at;
  }
  const body = message.body.trimEnd();
  const object = parseObject(body);
  if (object === undefined || METADATA_KEY in object) {
    return Buffer.from(JSON.stringify({ switchyard: 1, body: message.body, due, correlationId: message.correlationId, steps: message.steps, retries: message.retries, token: mark?.token, scheduledAt: mark?.at }), "utf8");
  }
  // Appended as the last key, so the message's own bytes stay as they were sent.
  const separator = Object.keys(object).length === 0 ? "" : ",";
  return Buffer.from(`${body.slice(0, -1)}${separator}"${METADATA_KEY}":${JSON.stringify(metadata)}}`, "utf8");
}

const text = (value: unknown): string | undefined => (typeof value === "string" ? value : undefined);
const number = (value: unknown): number | undefined => (typeof value === "number" && Number.isFinite(value) ? value : undefined);

/** Read record data in any of the three forms (see the module comment). */
export function decodeRecordData(data: Uint8Array): RecordData {
  const raw = Buffer.from(data).toString("utf8");
  const object = parseObject(raw);
  if (object === undefined) return { body: raw, due: 0, correlationId: "", steps: -1, retries: 0 };
  const marker = object[METADATA_KEY];
  if (marker === 1 && typeof object.body === "string") {
    return {
      body: object.body,
      due: number(object.due) ?? 0,
      correlationId: text(object.correlationId) ?? "",
      steps: number(object.steps) ?? -1,
      retries: number(object.retries) ?? 0,
      token: text(object.token),
      scheduledAt: number(object.scheduledAt),
    };
  }
  const context = asObject(object.system_context);
  const own = {
    correlationId: text(context?.correlation_id),
    steps: number(context?.steps),
    retries: number(context?.retries),
  };
  const metadata = asObject(marker);
  if (metadata === undefined) {
    return { body: raw, due: 0, correlationId: own.correlationId ?? "", steps: own.steps ?? -1, retries: own.retries ?? 0 };
  }
  const body = withoutMetadata(raw, object, metadata);
  const meta = {
    correlationId: text(metadata.correlation_id) ?? "",
    steps: number(metadata.steps) ?? -1,
    retries: number(metadata.retries) ?? 0,
  };
  const stale =
    context !== undefined && (meta.correlationId !== own.correlationId || meta.steps !== own.steps || meta.retries !== own.retries);
  if (stale) return { body, due: 0, correlationId: own.correlationId ?? "", steps: own.steps ?? -1, retries: own.retries ?? 0 };
  return { body, due: number(metadata.due) ?? 0, ...meta, token: text(metadata.token), scheduledAt: number(metadata.scheduled_at) };
}

/**
 * The message without the metadata key: the bytes before it when it is the last key as written
 * here, else the object re-serialized without it (a seed process re-wrote the record).
 */
function withoutMetadata(raw: string, object: JsonObject, metadata: JsonObject): string {
  const suffix = `"${METADATA_KEY}":${JSON.stringify(metadata)}}`;
  const trimmed = raw.trimEnd();
  if (trimmed.endsWith(suffix)) {
    const head = trimmed.slice(0, -suffix.length);
    if (head.endsWith(",")) return `${head.slice(0, -1)}}`;
    if (head.trimEnd().endsWith("{")) return `${head}}`;
  }
  const { [METADATA_KEY]: _, ...rest } = object;
  return JSON.stringify(rest);
}

/** The partition key of a message: its correlation id (Kinesis needs 1–256 characters). */
export function partitionKey(correlationId: string): string {
  return correlationId === "" ? "-" : correlationId.slice(0, 256);
}
