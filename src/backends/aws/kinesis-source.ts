/**
 * The stream and retry ports of a Kinesis data stream, and its message source (also what Lambda
 * and dev-lambda drive). Any number of consumers share a stream: each holds the leases of its fair
 * share of the shards (kinesis-leases.ts, in the checkpoint role's store), reads each held shard
 * from its stored position (the last acknowledged record, else TRIM_HORIZON), hands records out in
 * shard order, and moves the shard's position to the highest contiguously acknowledged record.
 * Kinesis has no delays: each record carries its due time, and a record that is not due yet holds
 * its shard (later records of that shard wait behind it). See docs/backends/kinesis.md.
 */
import { randomUUID } from "node:crypto";
import type { _Record } from "@aws-sdk/client-kinesis";
import type { KinesisStreamEvent } from "aws-lambda";
import { SystemError } from "../../errors.js";
import type { LambdaEventSource, LambdaRecordCodec } from "../../lambda-port.js";
import type { Logger } from "../../logger.js";
import type {
  BatchItemResult,
  Clock,
  ConsumerStatePort,
  DeadLetter,
  Delivery,
  MessageSource,
  OutgoingMessage,
  Receipt,
  ReceiveOptions,
  RetryPort,
  Side,
  StreamPort,
} from "../../ports.js";
import { refuseInstanceFilter } from "../unfiltered.js";
import { errorName } from "./http.js";
import { decodeRecordData, encodeRecordData, partitionKey, type RecordData } from "./kinesis-data.js";
import { noConsumerStateError, planShares, SHARD_END, ShardLeases, SYNC_MS } from "./kinesis-leases.js";
import { kinesisCodec } from "./kinesis-record.js";
import type { KinesisStream } from "./kinesis-stream.js";
import { byteLength, checkSize, KINESIS_BATCH_BYTES, KINESIS_BATCH_RECORDS, KINESIS_MAX_BYTES } from "./limits.js";
import type { ScheduleMark } from "./sqs-attributes.js";
import { ScheduleMarks } from "./sqs-claims.js";
import { batchWithRetry } from "./sqs-send.js";

/** One record read from a shard. */
interface ReadRecord {
  readonly shardId: string;
  readonly sequenceNumber: string;
  readonly partitionKey: string;
  readonly data: Uint8Array;
  /** Approximate arrival, ms since the epoch. */
  readonly arrivedAt: number;
  /** What the data holds: the message and Switchyard's metadata. */
  readonly content: RecordData;
}

/** A record handed out and not yet passed by its shard's position. */
interface Held {
  readonly record: ReadRecord;
  /** Bumped on every hand-out: a delivery of an older claim is stale. */
  claim: number;
  /** Clock time (ms) the claim ends. */
  until: number;
  receiveCount: number;
  acked: boolean;
}

/** What one consumer knows of a shard it holds. */
interface ShardState {
  readonly shardId: string;
  /** Sequence number of the last contiguously acknowledged record. */
  position: string | undefined;
  /** Over its share: hand out nothing new, release the lease once what was handed out is acknowledged. */
  draining: boolean;
  /** Sequence number of the last record read. */
  lastRead: string | undefined;
  iterator: string | undefined;
  /** The shard was closed (resharding) and read to its end. */
  closed: boolean;
  readonly held: Held[];
  readonly buffer: ReadRecord[];
}

/** The backend-private part of a Kinesis delivery. */
export interface KinesisHandle {
  readonly shardId: string;
  readonly sequenceNumber: string;
  readonly claim: number;
  readonly partitionKey: string;
  readonly data: Uint8Array;
  readonly arrivedAt: number;
  readonly due: number;
}

/** How a Kinesis source is put together. */
export interface KinesisSourceOptions {
  readonly uri: string;
  readonly role: "stream" | "retry";
  readonly side: Side;
  readonly clock: Clock;
  readonly stream: KinesisStream;
  /** The checkpoint role's consumer state (leases, positions, dead letters); undefined when the settings have none. */
  readonly consumerState: () => Promise<ConsumerStatePort | undefined>;
  readonly region: string;
  readonly logger: Logger;
}

/** Records asked for per GetRecords call. */
const READ_LIMIT = 1_000;
/** GetRecords calls per shard a `pending()` count makes at most to read ahead. */
const PENDING_READ_ROUNDS = 5;

/** The stream or retry role on a Kinesis stream. */
export class KinesisSource implements StreamPort, RetryPort, MessageSource, LambdaEventSource {
  readonly uri: string;
  readonly arn: string;
  /** Kinesis records (`aws:kinesis`). */
  readonly codec: LambdaRecordCodec = kinesisCodec;
  readonly role: "stream" | "retry";
  readonly side: Side;
  readonly #options: KinesisSourceOptions;
  readonly #marks = new ScheduleMarks();
  readonly #leases: ShardLeases;
  /** The shards this consumer holds. */
  readonly #shards = new Map<string, ShardState>();
  #nextSync = Number.NEGATIVE_INFINITY;
  #syncing: Promise<void> | undefined;

  constructor(options: KinesisSourceOptions) {
    this.#options = options;
    this.uri = options.uri;
    this.arn = options.uri;
    this.role = options.role;
    this.side = options.side;
    this.#leases = new ShardLeases({
      group: options.uri,
      owner: randomUUID(),
      clock: options.clock,
      state: async () => {
        const state = await options.consumerState();
        if (state === undefined) throw noConsumerStateError(options.uri);
        return state;
      },
    });
  }

  get #transport(): string {
    return `Kinesis stream ${this.uri}`;
  }

  #now(): number {
    return this.#options.clock.now();
  }

  #encode(message: OutgoingMessage, mark?: ScheduleMark): { key: string; data: Uint8Array; size: number } {
    const due = this.#now() + Math.max(0, message.delaySeconds) * 1000;
    const data = encodeRecordData(message, due, mark);
    const key = partitionKey(message.correlationId);
    return { key, data, size: data.byteLength + byteLength(key) };
  }

  async #put(message: OutgoingMessage, mark?: ScheduleMark): Promise<Receipt> {
    const { key, data, size } = this.#encode(message, mark);
    checkSize(this.#transport, size, KINESIS_MAX_BYTES);
    return this.#options.stream.put(key, data);
  }

  /** PutRecord (partition key: the correlation id); the receipt is `{ShardId, SequenceNumber}`. */
  send(message: OutgoingMessage): Promise<Receipt> {
    return this.#put(message);
  }

  /** PutRecords in calls of at most 500 records and 5 MiB, reported per record. */
  sendBatch(messages: readonly OutgoingMessage[]): Promise<BatchItemResult[]> {
    const encoded = messages.map((message) => this.#encode(message));
    const limits = {
      transport: this.#transport,
      maxBytes: KINESIS_MAX_BYTES,
      maxEntries: KINESIS_BATCH_RECORDS,
      maxChunkBytes: KINESIS_BATCH_BYTES,
    };
    return batchWithRetry(
      encoded.map((e) => e.size),
      limits,
      async (indexes) => {
        const answer = await this.#options.stream.putRecords(
          indexes.map((index) => ({ PartitionKey: encoded[index]?.key, Data: encoded[index]?.data })),
        );
        const outcome = new Map<number, BatchItemResult>();
        (answer.Records ?? []).forEach((result, position) => {
          const index = indexes[position];
          if (index === undefined) return;
          if (result.ErrorCode === undefined && result.SequenceNumber !== undefined) {
            outcome.set(index, { ok: true, receipt: { ShardId: result.ShardId, SequenceNumber: result.SequenceNumber } });
          } else {
            const error = new SystemError(
              `Kinesis PutRecords record failed on stream ${this.uri}: ${result.ErrorCode ?? "error"}: ${result.ErrorMessage ?? "no message"}`,
            );
            outcome.set(index, { ok: false, error });
          }
        });
        return outcome;
      },
    );
  }

  /** Put a retry entry (no backoff on Kinesis: the consumer waits for its due time). */
  schedule(message: OutgoingMessage): Promise<Receipt> {
    const mark = { token: randomUUID(), at: this.#now() };
    this.#marks.sent(mark.token);
    this.#marks.mark(retryKey(message.correlationId, message.steps), mark);
    return this.#put(message, mark);
  }

  /** Stop the retries of a step: its entry is skipped when read (Kinesis cannot delete). */
  async remove(correlationId: string, steps: number): Promise<void> {
    this.#marks.mark(retryKey(correlationId, steps), { token: randomUUID(), at: this.#now() });
  }

  /**
   * Renew this consumer's leases and take or give up shards towards its fair share, at most every
   * {@link SYNC_MS} by the clock (and on the first call); one sync at a time.
   */
  async #sync(): Promise<void> {
    if (this.#syncing !== undefined) return this.#syncing;
    if (this.#now() < this.#nextSync) return;
    const run = this.#rebalance().finally(() => {
      this.#syncing = undefined;
    });
    this.#syncing = run;
    return run;
  }

  async #rebalance(): Promise<void> {
    const leases = await this.#leases.leases();
    await this.#leases.heartbeat(leases);
    for (const shard of [...this.#shards.values()]) {
      if (!(await this.#leases.store(shard.shardId, shard.position ?? ""))) this.#lost(shard);
    }
    const now = this.#now();
    const held = new Set([...this.#shards.values()].filter((shard) => !shard.draining).map((shard) => shard.shardId));
    const plan = planShares({ owner: this.#leases.owner, now, shards: await this.#options.stream.shards(), leases, held });
    const surplus = held.size - plan.share;
    if (surplus > 0) {
      // Give up the shards with the least in flight first: they are released soonest.
      const giving = [...this.#shards.values()]
        .filter((shard) => !shard.draining)
        .sort((a, b) => a.held.length - b.held.length)
        .slice(0, surplus);
      for (const shard of giving) shard.draining = true;
    }
    for (const { shardId, lease } of plan.free.slice(0, Math.max(0, plan.share - held.size))) {
      const taken = await this.#leases.take(shardId, lease);
      if (taken === undefined) continue;
      const position = taken.position === "" ? undefined : taken.position;
      this.#shards.set(shardId, { shardId, position, draining: false, lastRead: undefined, iterator: undefined, closed: false, held: [], buffer: [] });
    }
    this.#nextSync = now + SYNC_MS;
  }

  /** The lease of a shard went to another consumer: stop reading it (acks of its records are ignored). */
  #lost(shard: ShardState): void {
    this.#shards.delete(shard.shardId);
    this.#leases.forget(shard.shardId);
    const unacked = shard.held.filter((held) => !held.acked).length;
    this.#options.logger.warn(
      `Kinesis shard ${shard.shardId} of ${this.uri} was taken over by another consumer after its lease expired; ${unacked} record(s) handed out here and not yet acknowledged will be delivered again there`,
    );
  }

  /** The shards to read now, after a sync if one is due. */
  async #shardStates(): Promise<ShardState[]> {
    await this.#sync();
    return [...this.#shards.values()];
  }

  /** Read the next records of a shard into its buffer. */
  async #read(shard: ShardState): Promise<number> {
    if (shard.closed) return 0;
    for (let attempt = 0; ; attempt++) {
      if (shard.iterator === undefined) {
        const after = shard.lastRead ?? shard.position;
        shard.iterator = await this.#options.stream.iterator(
          after === undefined
            ? { ShardId: shard.shardId, ShardIteratorType: "TRIM_HORIZON" }
            : { ShardId: shard.shardId, ShardIteratorType: "AFTER_SEQUENCE_NUMBER", StartingSequenceNumber: after },
        );
        if (shard.iterator === undefined) return 0;
      }
      try {
        const answer = await this.#options.stream.records(shard.iterator, READ_LIMIT);
        const records = answer.Records ?? [];
        for (const record of records) shard.buffer.push(this.#readRecord(shard.shardId, record));
        if (records.length > 0) shard.lastRead = records[records.length - 1]?.SequenceNumber;
        shard.iterator = answer.NextShardIterator;
        if (shard.iterator === undefined) shard.closed = true;
        return records.length;
      } catch (error) {
        shard.iterator = undefined;
        if (errorName(error) !== "ExpiredIteratorException" || attempt > 0) throw error;
      }
    }
  }

  #readRecord(shardId: string, record: _Record): ReadRecord {
    const data = record.Data ?? new Uint8Array();
    return {
      shardId,
      sequenceNumber: record.SequenceNumber ?? "",
      partitionKey: record.PartitionKey ?? "",
      data,
      arrivedAt: record.ApproximateArrivalTimestamp?.getTime() ?? this.#now(),
      content: decodeRecordData(data),
    };
  }

  #superseded(record: ReadRecord): boolean {
    if (this.role !== "retry") return false;
    const { content } = record;
    const mark = content.token === undefined ? undefined : { token: content.token, at: content.scheduledAt ?? 0 };
    return this.#marks.isSuperseded(retryKey(content.correlationId, content.steps), mark);
  }

  /** Shards are read in order: a consumer cannot pick one instance's records. */
  readonly filtersByCorrelationId = false;

  /**
   * Claim up to `max` due records, in shard order; a not-yet-due record holds its shard. Rejects a
   * `correlationId`.
   */
  async receive(options: ReceiveOptions): Promise<Delivery[]> {
    refuseInstanceFilter(this, options);
    const now = this.#now();
    const until = now + options.visibilityTimeoutSeconds * 1000;
    const deliveries: Delivery[] = [];
    for (const shard of await this.#shardStates()) {
      for (const held of shard.held) {
        if (deliveries.length >= options.max) break;
        if (held.acked || held.until > now) continue;
        held.claim++;
        held.receiveCount++;
        held.until = until;
        deliveries.push(this.#delivery(held));
      }
      if (shard.draining) {
        await this.#advance(shard);
        continue;
      }
      if (shard.buffer.length === 0 && deliveries.length < options.max) await this.#read(shard);
      while (deliveries.length < options.max) {
        const record = shard.buffer[0];
        if (record === undefined) break;
        if (this.#superseded(record)) {
          shard.buffer.shift();
          shard.held.push({ record, claim: 0, until: now, receiveCount: 0, acked: true });
          continue;
        }
        if (record.content.due > now) break;
        shard.buffer.shift();
        const held: Held = { record, claim: 1, until, receiveCount: 1, acked: false };
        shard.held.push(held);
        deliveries.push(this.#delivery(held));
      }
      await this.#advance(shard);
    }
    return deliveries;
  }

  #delivery(held: Held): Delivery {
    const { record } = held;
    const handle: KinesisHandle = {
      shardId: record.shardId,
      sequenceNumber: record.sequenceNumber,
      claim: held.claim,
      partitionKey: record.partitionKey,
      data: record.data,
      arrivedAt: record.arrivedAt,
      due: record.content.due,
    };
    return {
      id: `${record.shardId}:${record.sequenceNumber}`,
      body: record.content.body,
      receiveCount: held.receiveCount,
      role: this.role,
      side: this.side,
      handle,
    };
  }

  /**
   * Move the shard's stored position past its leading acknowledged records. A shard given up, or
   * closed and read to its end, is released once nothing handed out is left unacknowledged.
   */
  async #advance(shard: ShardState): Promise<void> {
    let position: string | undefined;
    while (shard.held[0]?.acked) position = shard.held.shift()?.record.sequenceNumber;
    if (position !== undefined) shard.position = position;
    const finished = shard.closed && shard.buffer.length === 0;
    if ((shard.draining || finished) && shard.held.length === 0) {
      this.#shards.delete(shard.shardId);
      await this.#leases.release(shard.shardId, finished ? SHARD_END : (shard.position ?? ""));
      return;
    }
    if (position !== undefined && !(await this.#leases.store(shard.shardId, position)) && this.#shards.get(shard.shardId) === shard) {
      this.#lost(shard);
    }
  }

  /** The held record of a delivery and its shard, unless the delivery's claim is stale. */
  #current(delivery: Delivery): { shard: ShardState; held: Held } | undefined {
    const handle = delivery.handle as KinesisHandle;
    const shard = this.#shards.get(handle.shardId);
    const held = shard?.held.find((h) => h.record.sequenceNumber === handle.sequenceNumber);
    if (shard === undefined || held === undefined || held.acked || held.claim !== handle.claim) return undefined;
    return { shard, held };
  }

  /** Acknowledge a record; its shard's position moves once every earlier record is acknowledged. */
  async ack(delivery: Delivery): Promise<void> {
    const current = this.#current(delivery);
    if (current === undefined) return;
    current.held.acked = true;
    const { content } = current.held.record;
    if (this.role === "retry") this.#marks.settled(retryKey(content.correlationId, content.steps), content.token);
    await this.#advance(current.shard);
  }

  /** Hand a record back: it is delivered again (from the last position) after `delaySeconds`. */
  async release(delivery: Delivery, delaySeconds: number): Promise<void> {
    const current = this.#current(delivery);
    if (current !== undefined) current.held.until = this.#now() + delaySeconds * 1000;
  }

  /** Keep a record claimed `visibilityTimeoutSeconds` more from now. */
  async extend(delivery: Delivery, visibilityTimeoutSeconds: number): Promise<void> {
    const current = this.#current(delivery);
    if (current !== undefined) current.held.until = this.#now() + visibilityTimeoutSeconds * 1000;
  }

  /** Store the record in the checkpoint role's dead letters, then move past it. */
  async deadLetter(delivery: Delivery, reason: string): Promise<void> {
    const state = await this.#leases.state();
    await state.buryDeadLetter({
      sourceUri: this.uri,
      messageId: delivery.id,
      body: delivery.body,
      reason,
      receiveCount: delivery.receiveCount,
      deadAt: this.#now(),
    });
    const handle = delivery.handle as KinesisHandle;
    const shard = this.#shards.get(handle.shardId);
    const held = shard?.held.find((h) => h.record.sequenceNumber === handle.sequenceNumber);
    if (shard !== undefined && held !== undefined) {
      held.acked = true;
      await this.#advance(shard);
    }
  }

  /** The dead letters of this stream, newest first ([] when the settings keep no consumer state). */
  async deadLetters(limit?: number): Promise<DeadLetter[]> {
    const state = await this.#options.consumerState();
    return state === undefined ? [] : state.deadLettersOf(this.uri, limit);
  }

  /** Dead letter `id` of this stream (undefined when the settings keep no consumer state). */
  async findDeadLetter(id: number): Promise<DeadLetter | undefined> {
    const state = await this.#options.consumerState();
    return state?.getDeadLetter(this.uri, id);
  }

  /** Delete dead letter `id` of this stream; true when it existed. */
  async removeDeadLetter(id: number): Promise<boolean> {
    const state = await this.#options.consumerState();
    return state === undefined ? false : state.removeDeadLetter(this.uri, id);
  }

  /** Stop consuming: release the shards and the heartbeat so other consumers take over at once. */
  async close(): Promise<void> {
    this.#nextSync = Number.POSITIVE_INFINITY;
    await this.#syncing?.catch(() => undefined);
    const positions = new Map([...this.#shards.values()].map((shard) => [shard.shardId, shard.position ?? ""]));
    this.#shards.clear();
    await this.#leases.releaseAll(positions);
  }

  /**
   * Records this consumer read and has not acknowledged, after reading ahead what its shards have
   * (a few GetRecords calls per shard). Kinesis cannot count a stream: records beyond that
   * read-ahead, or on shards other consumers hold, are not counted.
   */
  async pending(correlationId?: string): Promise<number> {
    let count = 0;
    for (const shard of await this.#shardStates()) {
      for (let round = 0; round < PENDING_READ_ROUNDS; round++) if ((await this.#read(shard)) === 0) break;
      const waiting = [...shard.held.filter((h) => !h.acked).map((h) => h.record), ...shard.buffer];
      count += waiting.filter((r) => correlationId === undefined || r.content.correlationId === correlationId).length;
    }
    return count;
  }

  /** The deliveries as the KinesisStreamEvent Lambda's Kinesis trigger sends. */
  lambdaEvent(deliveries: readonly Delivery[]): unknown {
    const event: KinesisStreamEvent = {
      Records: deliveries.map((delivery) => {
        const handle = delivery.handle as KinesisHandle;
        return {
          kinesis: {
            kinesisSchemaVersion: "1.0",
            partitionKey: handle.partitionKey,
            sequenceNumber: handle.sequenceNumber,
            data: Buffer.from(handle.data).toString("base64"),
            approximateArrivalTimestamp: handle.arrivedAt / 1000,
          },
          eventSource: "aws:kinesis",
          eventVersion: "1.0",
          eventID: `${handle.shardId}:${handle.sequenceNumber}`,
          eventName: "aws:kinesis:record",
          invokeIdentityArn: "",
          awsRegion: this.#options.region,
          eventSourceARN: this.uri,
        };
      }),
    };
    return event;
  }

  /** The record's sequence number. */
  itemIdentifier(delivery: Delivery): string {
    return (delivery.handle as KinesisHandle).sequenceNumber;
  }
}

/** The key retry entries replace each other by. */
function retryKey(correlationId: string, steps: number): string {
  return `${correlationId}\u0000${steps}`;
}
