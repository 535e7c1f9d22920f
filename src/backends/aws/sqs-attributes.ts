/**
 * The message attributes Switchyard puts on SQS messages and SNS notifications: the due time (ms by
 * the backend's clock: the consumer never delivers earlier), the correlation id, steps and retries
 * (for people and tools reading the queue), and for the retry role the schedule token that lets a
 * consumer drop an entry that was replaced or removed. Also their size, which counts towards the
 * 256 KiB limit.
 */
import type { MessageAttributeValue } from "@aws-sdk/client-sqs";
import type { OutgoingMessage } from "../../ports.js";
import { byteLength } from "./limits.js";

/** Attribute names (SQS allows letters, digits, `-`, `_` and `.`). */
export const ATTR = {
  due: "switchyard.due",
  correlationId: "switchyard.correlation-id",
  steps: "switchyard.steps",
  retries: "switchyard.retries",
  token: "switchyard.token",
  scheduledAt: "switchyard.scheduled-at",
  reason: "switchyard.reason",
  source: "switchyard.source",
  messageId: "switchyard.message-id",
  receiveCount: "switchyard.receive-count",
  deadAt: "switchyard.dead-at",
} as const;

/** A `{DataType, StringValue}` attribute map (the shape SQS and, renamed, SNS take). */
export type Attributes = Record<string, { readonly DataType: "String" | "Number"; readonly StringValue: string }>;

/** What a retry entry carries so a consumer can tell it was replaced. */
export interface ScheduleMark {
  readonly token: string;
  /** Clock time of the schedule call, ms. */
  readonly at: number;
}

/** The attributes of one outgoing message due at `due` (ms). */
export function messageAttributes(message: OutgoingMessage, due: number, mark?: ScheduleMark): Attributes {
  const attributes: Attributes = {
    [ATTR.due]: { DataType: "Number", StringValue: String(due) },
    [ATTR.correlationId]: { DataType: "String", StringValue: message.correlationId },
    [ATTR.steps]: { DataType: "Number", StringValue: String(message.steps) },
    [ATTR.retries]: { DataType: "Number", StringValue: String(message.retries) },
  };
  if (mark !== undefined) {
    attributes[ATTR.token] = { DataType: "String", StringValue: mark.token };
    attributes[ATTR.scheduledAt] = { DataType: "Number", StringValue: String(mark.at) };
  }
  return attributes;
}

/** Bytes the attributes add to a message (name, type and value of each, as SQS counts them). */
export function attributesSize(attributes: Attributes): number {
  let size = 0;
  for (const [name, value] of Object.entries(attributes)) {
    size += byteLength(name) + byteLength(value.DataType) + byteLength(value.StringValue);
  }
  return size;
}

/** A string attribute of a received message, if present. */
export function stringAttribute(
  attributes: Readonly<Record<string, MessageAttributeValue>> | undefined,
  name: string,
): string | undefined {
  return attributes?.[name]?.StringValue;
}

/** A numeric attribute of a received message, if present and numeric. */
export function numberAttribute(
  attributes: Readonly<Record<string, MessageAttributeValue>> | undefined,
  name: string,
): number | undefined {
  const text = stringAttribute(attributes, name);
  if (text === undefined || text === "") return undefined;
  const value = Number(text);
  return Number.isFinite(value) ? value : undefined;
}
