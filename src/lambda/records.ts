/**
 * Lambda event records (SQS, Kinesis, SNS, DynamoDB Streams) → engine processings, with partial
 * batch failures: each record is decoded by the codec its transport's source offers (the
 * `LambdaEventSource` port), matched to the configured source by ARN, processed, and either
 * settled or reported in `batchItemFailures`, so one bad record never replays the whole batch.
 *
 * Records a codec says carry no message (DynamoDB Streams MODIFY and REMOVE) are skipped (the
 * event source mapping should filter them out: `{"eventName": ["INSERT"]}`).
 *
 * A record that is not due yet (an SQS delay over 900 s) is held back where its source can
 * (`holdUntilDue`): hidden and reported, so it is delivered again later, or replaced by a copy
 * due then and reported done. It never runs early there.
 *
 * Kinesis and DynamoDB Streams records are processed in order per shard; after the first failure
 * of a shard its later records are reported too, without processing them (Lambda checkpoints at
 * the lowest failed sequence number and delivers them again). SQS and SNS records are processed
 * concurrently.
 */
import type { Engine } from "../engine/engine.js";
import { deliveryLogFields } from "../engine/log-fields.js";
import type { Logger } from "../logger.js";
import type { Delivery, MessageSource } from "../ports.js";
import { type LambdaEventSource, type LambdaRecord, type LambdaRecordCodec, isLambdaEventSource } from "../lambda-port.js";

/** The partial batch response Lambda understands (`ReportBatchItemFailures`). */
export interface BatchResponse {
  readonly batchItemFailures: Array<{ readonly itemIdentifier: string }>;
}

/** What processing records needs. */
export interface RecordsContext {
  readonly engine: Engine;
  readonly sources: readonly MessageSource[];
  readonly codecs: readonly LambdaRecordCodec[];
  readonly logger: Logger;
}

/**
 * The codecs of the configured sources Lambda can drive, one per event source: the handler reads
 * the records of exactly the transports the settings name.
 */
export function codecsOf(sources: readonly MessageSource[]): LambdaRecordCodec[] {
  const codecs = new Map<string, LambdaRecordCodec>();
  for (const source of sources.filter(isLambdaEventSource)) {
    if (!codecs.has(source.codec.eventSource)) codecs.set(source.codec.eventSource, source.codec);
  }
  return [...codecs.values()];
}

/** Event sources whose records are ordered per shard. */
const ORDERED = new Set(["aws:kinesis", "aws:dynamodb"]);

/** The `eventSource` of a raw record (`EventSource` for SNS), if it has one. */
export function eventSourceOf(record: unknown): string | undefined {
  if (typeof record !== "object" || record === null) return undefined;
  const r = record as Record<string, unknown>;
  const source = r.eventSource ?? r.EventSource;
  return typeof source === "string" ? source : undefined;
}

/** Whether an event is a batch of records from a Lambda event source mapping or SNS. */
export function isRecordsEvent(event: unknown): event is { Records: unknown[] } {
  if (typeof event !== "object" || event === null) return false;
  const records = (event as { Records?: unknown }).Records;
  return Array.isArray(records) && records.length > 0 && records.every((record) => eventSourceOf(record) !== undefined);
}

/** The item identifier of a raw record, read without its codec (for records that cannot be decoded). */
export function rawItemIdentifier(record: unknown): string {
  const r = (record ?? {}) as Record<string, Record<string, unknown> | unknown>;
  const candidates = [
    r.messageId,
    (r.kinesis as Record<string, unknown> | undefined)?.sequenceNumber,
    (r.dynamodb as Record<string, unknown> | undefined)?.SequenceNumber,
    (r.Sns as Record<string, unknown> | undefined)?.MessageId,
    r.eventID,
    r.EventSubscriptionArn,
  ];
  const found = candidates.find((value) => typeof value === "string" && value !== "");
  return (found as string | undefined) ?? "unknown";
}

/** The ordering group of a record: its source ARN and, for Kinesis, its shard. */
function shardOf(record: unknown): string {
  const r = record as Record<string, unknown>;
  const eventId = typeof r.eventID === "string" ? r.eventID : "";
  const shard = eventId.startsWith("shardId-") ? eventId.split(":")[0] : "";
  return `${String(r.eventSourceARN ?? "")}|${shard}`;
}

/**
 * Process every record; returns the item identifiers of the records that must be delivered again,
 * in the order of the batch.
 */
export async function processRecords(records: readonly unknown[], context: RecordsContext): Promise<string[]> {
  const failed = new Set<number>();
  const unordered: number[] = [];
  const shards = new Map<string, number[]>();
  for (const [index, record] of records.entries()) {
    if (!ORDERED.has(eventSourceOf(record) ?? "")) {
      unordered.push(index);
      continue;
    }
    const key = shardOf(record);
    shards.set(key, [...(shards.get(key) ?? []), index]);
  }
  const identifiers: string[] = records.map(rawItemIdentifier);
  const one = async (index: number) => {
    const result = await processRecord(records[index], context);
    identifiers[index] = result.itemIdentifier;
    if (!result.ok) failed.add(index);
    return result.ok;
  };
  await Promise.all([
    ...unordered.map(one),
    ...[...shards.values()].map(async (indexes) => {
      for (const [position, index] of indexes.entries()) {
        if (await one(index)) continue;
        for (const later of indexes.slice(position + 1)) {
          identifiers[later] = decodedIdentifier(records[later], context.codecs);
          failed.add(later);
        }
        return;
      }
    }),
  ]);
  return identifiers.filter((_, index) => failed.has(index));
}

function decodedIdentifier(record: unknown, codecs: readonly LambdaRecordCodec[]): string {
  try {
    return codecFor(record, codecs)?.decode(record).itemIdentifier ?? rawItemIdentifier(record);
  } catch {
    return rawItemIdentifier(record);
  }
}

function codecFor(record: unknown, codecs: readonly LambdaRecordCodec[]): LambdaRecordCodec | undefined {
  const source = eventSourceOf(record);
  return codecs.find((codec) => codec.eventSource === source);
}

/** Find the source a record came from: by ARN, a Lambda-triggered source before a timer-polled one. */
export function sourceFor(arn: string, sources: readonly MessageSource[]): LambdaEventSource | undefined {
  const matching = sources.filter(isLambdaEventSource).filter((source) => source.uri === arn || source.arn === arn);
  return matching.find((source) => source.polledOnTimer !== true) ?? matching[0];
}

/** The due time (ms) a transport stamped on a record, if it did. */
function dueOf(record: LambdaRecord): number | undefined {
  const due = (record.handle as { due?: unknown } | undefined)?.due;
  return typeof due === "number" && Number.isFinite(due) ? due : undefined;
}

async function processRecord(raw: unknown, context: RecordsContext): Promise<{ ok: boolean; itemIdentifier: string }> {
  const { logger } = context;
  const eventSource = eventSourceOf(raw) as string;
  const codec = codecFor(raw, context.codecs);
  if (codec === undefined) {
    const known = context.codecs.map((c) => c.eventSource).join(", ") || "none";
    logger.error(
      `record ${rawItemIdentifier(raw)} comes from ${eventSource}, which no source in the settings reads (they read: ${known}); name its queue, stream, topic or table in the settings (SWITCHYARD_SETTINGS), or remove this trigger`,
    );
    return { ok: false, itemIdentifier: rawItemIdentifier(raw) };
  }
  if (codec.ignore?.(raw) === true) {
    // e.g. DynamoDB Streams MODIFY and REMOVE records (a claim, the deletion of a processed item).
    logger.debug(`skipped ${eventSource} record ${rawItemIdentifier(raw)}: it carries no message`);
    return { ok: true, itemIdentifier: rawItemIdentifier(raw) };
  }
  let record: LambdaRecord;
  try {
    record = codec.decode(raw);
  } catch (error) {
    logger.error(`cannot decode ${eventSource} record ${rawItemIdentifier(raw)}: ${(error as Error).message}`);
    return { ok: false, itemIdentifier: rawItemIdentifier(raw) };
  }
  // Decoded again only for a record that is logged, i.e. off the hot path.
  const fields = () => deliveryLogFields(delivery, (body) => context.engine.decode(body), logger);
  const fail = (message: string) => {
    logger.error(message, fields());
    return { ok: false, itemIdentifier: record.itemIdentifier };
  };
  const source = sourceFor(record.sourceArn, context.sources);
  if (source === undefined) {
    logger.error(
      `record ${record.itemIdentifier} comes from ${record.sourceArn}, which the settings do not name; add it as stream.primary, stream.secondary, retry.primary or retry.secondary in the settings (SWITCHYARD_SETTINGS)`,
    );
    return { ok: false, itemIdentifier: record.itemIdentifier };
  }
  const delivery: Delivery = {
    id: record.id,
    body: record.body,
    receiveCount: record.receiveCount,
    role: source.role,
    side: source.side,
    handle: record.handle,
  };
  const where = `${source.role}.${source.side} (${source.uri})`;
  // A record early for its due time (a delay longer than SQS holds a message back) is held back
  // where its transport can: hidden and reported so it comes again, or replaced by a copy due
  // then (this one is done: Lambda deletes it). Elsewhere it runs now.
  const due = dueOf(record);
  const now = context.engine.clock.now();
  if (due !== undefined && due > now && source.holdUntilDue !== undefined) {
    const seconds = Math.ceil((due - now) / 1000);
    let held: boolean | "replaced";
    try {
      held = await source.holdUntilDue(delivery, seconds);
    } catch (error) {
      return fail(`record ${record.itemIdentifier} from ${where} is not due for ${seconds} s and cannot be held back until then: ${(error as Error).message}`);
    }
    if (held === "replaced") {
      logger.debug(`record ${record.itemIdentifier} from ${where} is not due for ${seconds} s: replaced by a copy due then`, fields());
      return { ok: true, itemIdentifier: record.itemIdentifier };
    }
    if (held) {
      logger.debug(`record ${record.itemIdentifier} from ${where} is not due for ${seconds} s: hidden for now`, fields());
      return { ok: false, itemIdentifier: record.itemIdentifier };
    }
  }
  let outcome: Awaited<ReturnType<Engine["process"]>>;
  try {
    outcome = await context.engine.process(delivery);
  } catch (error) {
    return fail(`record ${record.itemIdentifier} from ${where} left for redelivery: ${(error as Error).message}`);
  }
  if ("reason" in outcome) {
    try {
      await source.deadLetter(delivery, outcome.reason);
      logger.error(`record ${record.itemIdentifier} from ${where} moved to dead letters: ${outcome.reason}`, { ...fields(), outcome: outcome.kind });
      return { ok: true, itemIdentifier: record.itemIdentifier };
    } catch (error) {
      return fail(`record ${record.itemIdentifier} from ${where} is ${outcome.kind} (${outcome.reason}) and cannot be dead-lettered: ${(error as Error).message}`);
    }
  }
  try {
    await source.settle?.(record);
  } catch (error) {
    return fail(`record ${record.itemIdentifier} from ${where} was processed but cannot be settled (it will be delivered again and dropped as a duplicate): ${(error as Error).message}`);
  }
  return { ok: true, itemIdentifier: record.itemIdentifier };
}
