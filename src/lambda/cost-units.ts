/**
 * What AWS bills one API call in: DynamoDB read and write request units, SQS and SNS 64 KiB request
 * chunks, Kinesis 25 KB PUT payload units. DynamoDB units come from the `ConsumedCapacity` the
 * call returned when it did (the cost observer asks for it); otherwise (a failed conditional write,
 * a transaction an emulator does not measure) they are computed from the item sizes in the input,
 * transactions at twice the units, as DynamoDB bills them.
 */
import type { ApiCall } from "../ports.js";

/** The billed units of one call (or a sum of calls). */
export interface CallUnits {
  /** DynamoDB write request units. */
  wru: number;
  /** DynamoDB read request units. */
  rru: number;
  /** SQS requests: one per 64 KiB chunk of a request's payload. */
  sqsRequests: number;
  /** SNS publishes: one per 64 KiB chunk of each published message. */
  snsPublishes: number;
  /** Kinesis PUT payload units: one per 25 KB of each record. */
  kinesisPutUnits: number;
  /** CloudWatch PutMetricData requests. */
  putMetricData: number;
}

/** No units. */
export function noUnits(): CallUnits {
  return { wru: 0, rru: 0, sqsRequests: 0, snsPublishes: 0, kinesisPutUnits: 0, putMetricData: 0 };
}

/** Add `b` into `a`. */
export function addUnits(a: CallUnits, b: CallUnits): void {
  a.wru += b.wru;
  a.rru += b.rru;
  a.sqsRequests += b.sqsRequests;
  a.snsPublishes += b.snsPublishes;
  a.kinesisPutUnits += b.kinesisPutUnits;
  a.putMetricData += b.putMetricData;
}

const KIB = 1024;
const SQS_CHUNK = 64 * KIB;
const KINESIS_UNIT = 25 * KIB;
const DYNAMODB_READS = new Set(["GetItem", "Query", "Scan", "BatchGetItem", "TransactGetItems"]);
const DYNAMODB_WRITES = new Set(["PutItem", "UpdateItem", "DeleteItem", "BatchWriteItem", "TransactWriteItems"]);

type Json = Record<string, unknown>;
const isObject = (value: unknown): value is Json => typeof value === "object" && value !== null && !Array.isArray(value);
const utf8 = (text: unknown) => (typeof text === "string" ? Buffer.byteLength(text, "utf8") : 0);
const bytes = (data: unknown) => (data instanceof Uint8Array ? data.byteLength : utf8(data));

/** The billed units of `call`. */
export function callUnits(call: ApiCall): CallUnits {
  const units = noUnits();
  const input = isObject(call.input) ? call.input : {};
  const output = isObject(call.output) ? call.output : undefined;
  switch (call.service) {
    case "DynamoDB":
      dynamoDbUnits(call.operation, input, output, units);
      break;
    case "SQS":
      units.sqsRequests = sqsChunks(call.operation, input, output);
      break;
    case "SNS":
      units.snsPublishes = snsChunks(call.operation, input);
      break;
    case "Kinesis":
      units.kinesisPutUnits = kinesisPutUnits(call.operation, input);
      break;
    case "CloudWatch":
      if (call.operation === "PutMetricData") units.putMetricData = 1;
      break;
  }
  return units;
}

function dynamoDbUnits(operation: string, input: Json, output: Json | undefined, units: CallUnits): void {
  const read = DYNAMODB_READS.has(operation);
  if (!read && !DYNAMODB_WRITES.has(operation)) return; // control plane: tables, TTL, descriptions
  const consumed = output?.ConsumedCapacity;
  const measured = (Array.isArray(consumed) ? consumed : consumed === undefined ? [] : [consumed])
    .map((entry) => (isObject(entry) && typeof entry.CapacityUnits === "number" ? entry.CapacityUnits : 0))
    .reduce((a, b) => a + b, 0);
  const total = consumed !== undefined ? measured : estimateDynamoDbUnits(operation, input);
  if (read) units.rru += total;
  else units.wru += total;
}

/** Units from the input alone: what a call with no `ConsumedCapacity` answer is billed at least. */
export function estimateDynamoDbUnits(operation: string, input: Json): number {
  const writeUnits = (item: unknown) => Math.max(1, Math.ceil(itemSize(item) / KIB));
  switch (operation) {
    case "PutItem":
      return writeUnits(input.Item);
    case "UpdateItem":
    case "DeleteItem":
      return writeUnits(input.Key);
    case "GetItem":
      return input.ConsistentRead === true ? 1 : 0.5;
    case "TransactWriteItems": {
      const items = Array.isArray(input.TransactItems) ? input.TransactItems : [];
      return items.reduce<number>((sum, entry) => {
        if (!isObject(entry)) return sum;
        const put = entry.Put as Json | undefined;
        const other = (entry.Update ?? entry.Delete ?? entry.ConditionCheck) as Json | undefined;
        return sum + 2 * writeUnits(put?.Item ?? other?.Key);
      }, 0);
    }
    default:
      return 1;
  }
}

/**
 * The size DynamoDB bills an item at: each attribute's name plus its value (strings and binaries
 * by their bytes, numbers by their digits, one byte for booleans and null, 3 bytes of overhead per
 * map or list plus one per element).
 */
export function itemSize(item: unknown): number {
  if (!isObject(item)) return 0;
  return Object.entries(item).reduce((sum, [name, value]) => sum + utf8(name) + valueSize(value), 0);
}

function valueSize(value: unknown): number {
  if (!isObject(value)) return 0;
  if ("S" in value) return utf8(value.S);
  if ("N" in value) return Math.ceil(String(value.N).replace(/^-|\.|e.*$/gi, "").length / 2) + 1;
  if ("B" in value) return bytes(value.B);
  if ("BOOL" in value || "NULL" in value) return 1;
  if ("SS" in value && Array.isArray(value.SS)) return value.SS.reduce<number>((sum, s) => sum + utf8(s), 0);
  if ("NS" in value && Array.isArray(value.NS)) return value.NS.reduce<number>((sum, n) => sum + String(n).length, 0);
  if ("L" in value && Array.isArray(value.L)) return 3 + value.L.reduce<number>((sum, v) => sum + 1 + valueSize(v), 0);
  if ("M" in value) return 3 + Object.entries(value.M as Json).reduce((sum, [name, v]) => sum + 1 + utf8(name) + valueSize(v), 0);
  return 0;
}

/** A message's body plus its attributes' names, types and values. */
function sqsMessageBytes(message: Json): number {
  let total = utf8(message.MessageBody ?? message.Body);
  const attributes = (message.MessageAttributes ?? {}) as Json;
  for (const [name, value] of Object.entries(attributes)) {
    const attribute = isObject(value) ? value : {};
    total += utf8(name) + utf8(attribute.DataType) + utf8(attribute.StringValue) + bytes(attribute.BinaryValue);
  }
  return total;
}

function sqsChunks(operation: string, input: Json, output: Json | undefined): number {
  const chunks = (total: number) => Math.max(1, Math.ceil(total / SQS_CHUNK));
  switch (operation) {
    case "SendMessage":
      return chunks(sqsMessageBytes(input));
    case "SendMessageBatch":
      return chunks((Array.isArray(input.Entries) ? input.Entries : []).reduce<number>((sum, entry) => sum + (isObject(entry) ? sqsMessageBytes(entry) : 0), 0));
    case "ReceiveMessage":
      return chunks((Array.isArray(output?.Messages) ? output.Messages : []).reduce<number>((sum, message) => sum + (isObject(message) ? sqsMessageBytes(message) : 0), 0));
    default:
      return 1;
  }
}

function snsChunks(operation: string, input: Json): number {
  const chunks = (total: number) => Math.max(1, Math.ceil(total / SQS_CHUNK));
  if (operation === "Publish") return chunks(utf8(input.Message));
  if (operation === "PublishBatch") {
    const entries = Array.isArray(input.PublishBatchRequestEntries) ? input.PublishBatchRequestEntries : [];
    return entries.reduce<number>((sum, entry) => sum + chunks(isObject(entry) ? utf8(entry.Message) : 0), 0);
  }
  return 0;
}

function kinesisPutUnits(operation: string, input: Json): number {
  const units = (record: Json) => Math.max(1, Math.ceil((bytes(record.Data) + utf8(record.PartitionKey)) / KINESIS_UNIT));
  if (operation === "PutRecord") return units(input);
  if (operation === "PutRecords") return (Array.isArray(input.Records) ? input.Records : []).reduce<number>((sum, record) => sum + (isObject(record) ? units(record) : 0), 0);
  return 0;
}
