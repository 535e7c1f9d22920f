/**
 * One Kinesis data stream named by ARN (`arn:aws:kinesis:REGION:ACCOUNT:stream/NAME`) and every
 * call Switchyard makes on it, with failures translated into one-line errors (a missing stream
 * names the command that creates it). Calls address the stream by name, which every Kinesis
 * endpoint and emulator accepts.
 */
import {
  CreateStreamCommand,
  DescribeStreamSummaryCommand,
  GetRecordsCommand,
  type GetRecordsCommandOutput,
  GetShardIteratorCommand,
  type GetShardIteratorCommandInput,
  KinesisClient,
  ListShardsCommand,
  PutRecordCommand,
  PutRecordsCommand,
  type PutRecordsCommandOutput,
  type PutRecordsRequestEntry,
  type Shard,
} from "@aws-sdk/client-kinesis";
import { SystemError } from "../../errors.js";
import type { BackendContext } from "../backend.js";
import { type Arn, clientConfig, parseArn, resourceName } from "./arn.js";
import { awsFailure, errorName, missingResourceError, observeCalls, requestHandler } from "./http.js";
import { KINESIS_SHARDS } from "./shapes.js";

/** A Kinesis client for the region and endpoint of `arn`, with bounded retries and timeouts. */
export function createKinesisClient(arn: Arn, context: Pick<BackendContext, "endpoints" | "apiCalls">): KinesisClient {
  return observeCalls(new KinesisClient({ ...clientConfig(arn, context, "kinesis"), requestHandler: requestHandler() }), "Kinesis", context.apiCalls);
}

/** The one-line error for a stream that is not there. */
export function missingStreamError(arn: string, cause?: unknown): SystemError {
  return missingResourceError(`Kinesis stream ${arn}`, "missing_stream", cause);
}

/** Milliseconds between status checks while a created stream becomes ACTIVE. */
const ACTIVE_POLL_MS = 250;
/** How long provisioning waits for a stream to become ACTIVE. */
const ACTIVE_WAIT_MS = 120_000;

/** A stream and the calls Switchyard makes on it. */
export class KinesisStream {
  readonly arn: string;
  readonly name: string;
  readonly #client: KinesisClient;

  constructor(client: KinesisClient, arn: string) {
    this.arn = arn;
    this.name = resourceName(parseArn(arn, "kinesis"), "stream");
    this.#client = client;
  }

  async #call<T>(operation: string, run: () => Promise<T>): Promise<T> {
    try {
      return await run();
    } catch (error) {
      if (errorName(error) === "ResourceNotFoundException" && operation !== "GetRecords") {
        throw missingStreamError(this.arn, error);
      }
      throw awsFailure("Kinesis", operation, `stream ${this.arn}`, error);
    }
  }

  /** PutRecord; the shard and sequence number. */
  put(partitionKey: string, data: Uint8Array): Promise<{ ShardId: string; SequenceNumber: string }> {
    return this.#call("PutRecord", async () => {
      const answer = await this.#client.send(new PutRecordCommand({ StreamName: this.name, PartitionKey: partitionKey, Data: data }));
      return { ShardId: answer.ShardId ?? "", SequenceNumber: answer.SequenceNumber ?? "" };
    });
  }

  /** PutRecords (at most 500); one result per record, in order. */
  putRecords(records: PutRecordsRequestEntry[]): Promise<PutRecordsCommandOutput> {
    return this.#call("PutRecords", () => this.#client.send(new PutRecordsCommand({ StreamName: this.name, Records: records })));
  }

  /** Every shard of the stream. */
  shards(): Promise<Shard[]> {
    return this.#call("ListShards", async () => {
      const shards: Shard[] = [];
      let token: string | undefined;
      do {
        const answer = await this.#client.send(
          new ListShardsCommand(token === undefined ? { StreamName: this.name } : { NextToken: token }),
        );
        shards.push(...(answer.Shards ?? []));
        token = answer.NextToken;
      } while (token !== undefined);
      return shards;
    });
  }

  /** A shard iterator. */
  iterator(input: Omit<GetShardIteratorCommandInput, "StreamName">): Promise<string | undefined> {
    return this.#call("GetShardIterator", async () => {
      const answer = await this.#client.send(new GetShardIteratorCommand({ ...input, StreamName: this.name }));
      return answer.ShardIterator;
    });
  }

  /** GetRecords (errors keep their SDK name, so an expired iterator can be told apart). */
  async records(iterator: string, limit: number): Promise<GetRecordsCommandOutput> {
    try {
      return await this.#client.send(new GetRecordsCommand({ ShardIterator: iterator, Limit: limit }));
    } catch (error) {
      if (errorName(error) === "ExpiredIteratorException") throw error;
      throw awsFailure("Kinesis", "GetRecords", `stream ${this.arn}`, error);
    }
  }

  /** The stream's status, or undefined when it does not exist. */
  async status(): Promise<string | undefined> {
    try {
      const answer = await this.#client.send(new DescribeStreamSummaryCommand({ StreamName: this.name }));
      return answer.StreamDescriptionSummary?.StreamStatus;
    } catch (error) {
      if (errorName(error) === "ResourceNotFoundException") return undefined;
      throw awsFailure("Kinesis", "DescribeStreamSummary", `stream ${this.arn}`, error);
    }
  }

  /** Create the stream with one shard unless it exists, and wait until it is ACTIVE. */
  async create(): Promise<"created" | "exists"> {
    let outcome: "created" | "exists" = "exists";
    if ((await this.status()) === undefined) {
      try {
        await this.#client.send(new CreateStreamCommand({ StreamName: this.name, ShardCount: KINESIS_SHARDS }));
        outcome = "created";
      } catch (error) {
        if (errorName(error) !== "ResourceInUseException") throw awsFailure("Kinesis", "CreateStream", `stream ${this.arn}`, error);
      }
    }
    const deadline = Date.now() + ACTIVE_WAIT_MS;
    for (;;) {
      const status = await this.status();
      if (status === "ACTIVE" || status === "UPDATING") return outcome;
      if (Date.now() > deadline) {
        throw new SystemError(`Kinesis stream ${this.arn} is not ACTIVE after ${ACTIVE_WAIT_MS / 1000} s (status ${status ?? "missing"}); check it in the AWS console`);
      }
      await new Promise((resolve) => setTimeout(resolve, ACTIVE_POLL_MS));
    }
  }
}
