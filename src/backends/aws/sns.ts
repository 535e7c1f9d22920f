/**
 * The SNS backend (`arn:aws:sns:REGION:ACCOUNT:TOPIC`): sends are Publish (PublishBatch for
 * batches); consumption goes through an SQS queue subscribed to the topic with raw message
 * delivery, `<topic>-switchyard` in the topic's region and account, or the queue the settings name
 * with `endpoints["<topicArn>#queue"] = "<queueArn>"`. SNS has no delays: the due time travels as
 * a message attribute and the consumer queue's source honours it. `provision()` creates the topic,
 * the queue, its dead-letter queue, the queue policy and the subscription. See docs/backends/sns.md.
 */
import {
  CreateTopicCommand,
  GetTopicAttributesCommand,
  ListSubscriptionsByTopicCommand,
  PublishBatchCommand,
  type PublishBatchCommandOutput,
  PublishCommand,
  SNSClient,
  SubscribeCommand,
} from "@aws-sdk/client-sns";
import type { SNSEvent, SNSEventRecord } from "aws-lambda";
import { SystemError } from "../../errors.js";
import type { LambdaRecordCodec } from "../../lambda-port.js";
import type { BatchItemResult, Delivery, Receipt, ReceiveOptions, Side } from "../../ports.js";
import type { Backend, BackendContext } from "../backend.js";
import { clientConfig, parseArn, resourceName } from "./arn.js";
import { awsFailure, errorName, missingResourceError, observeCalls, requestHandler } from "./http.js";
import { checkSize, SNS_MAX_BYTES, SQS_BATCH_ENTRIES } from "./limits.js";
import { snsCodec, unwrapDefault } from "./sns-record.js";
import { sourcePerRole } from "./sources.js";
import { consumerQueueArn, consumerQueuePolicy, LAMBDA_CONSUMER } from "./shapes.js";
import { deadLetterQueueArn, SqsDeadLetters } from "./sqs-dead-letters.js";
import { createSqsClient, SqsQueue } from "./sqs-queue.js";
import { batchWithRetry, type MessageSender, type WireMessage, wireSize } from "./sqs-send.js";
import { type SqsHandle, SqsSource, type SqsSourceOptions } from "./sqs-source.js";

/** The one-line error for a topic that is not there. */
export function missingTopicError(arn: string, cause?: unknown): SystemError {
  return missingResourceError(`SNS topic ${arn}`, "missing_topic", cause);
}

function translate(topicArn: string, operation: string, error: unknown): Error {
  if (errorName(error) === "NotFoundException" || errorName(error) === "NotFound") return missingTopicError(topicArn, error);
  return awsFailure("SNS", operation, `topic ${topicArn}`, error);
}

/** Publishes to a topic. */
export class SnsSender implements MessageSender {
  readonly transport: string;
  readonly nativeDelay = false;
  readonly #client: SNSClient;
  readonly #topicArn: string;

  constructor(client: SNSClient, topicArn: string) {
    this.#client = client;
    this.#topicArn = topicArn;
    this.transport = `SNS topic ${topicArn}`;
  }

  /** Publish; the receipt is `{MessageId}`. */
  async send(message: WireMessage): Promise<Receipt> {
    checkSize(this.transport, wireSize(message), SNS_MAX_BYTES);
    try {
      const answer = await this.#client.send(
        new PublishCommand({ TopicArn: this.#topicArn, Message: message.body, MessageAttributes: message.attributes }),
      );
      return { MessageId: answer.MessageId };
    } catch (error) {
      throw translate(this.#topicArn, "Publish", error);
    }
  }

  /** PublishBatch in calls of at most 10 entries and 256 KiB, reported per entry. */
  sendBatch(messages: readonly WireMessage[]): Promise<BatchItemResult[]> {
    const limits = { transport: this.transport, maxBytes: SNS_MAX_BYTES, maxEntries: SQS_BATCH_ENTRIES, maxChunkBytes: SNS_MAX_BYTES };
    return batchWithRetry(messages.map(wireSize), limits, async (indexes) => {
      let answer: PublishBatchCommandOutput;
      try {
        answer = await this.#client.send(
          new PublishBatchCommand({
            TopicArn: this.#topicArn,
            PublishBatchRequestEntries: indexes.map((index) => {
              const message = messages[index] as WireMessage;
              return { Id: String(index), Message: message.body, MessageAttributes: message.attributes };
            }),
          }),
        );
      } catch (error) {
        throw translate(this.#topicArn, "PublishBatch", error);
      }
      const outcome = new Map<number, BatchItemResult>();
      for (const ok of answer.Successful ?? []) outcome.set(Number(ok.Id), { ok: true, receipt: { MessageId: ok.MessageId } });
      for (const failed of answer.Failed ?? []) {
        outcome.set(Number(failed.Id), {
          ok: false,
          error: new SystemError(
            `SNS PublishBatch entry failed on topic ${this.#topicArn}: ${failed.Code ?? "error"}: ${failed.Message ?? "no message"}`,
          ),
        });
      }
      return outcome;
    });
  }
}

export { consumerQueueArn, LAMBDA_CONSUMER } from "./shapes.js";

/** An SQS source on the topic's subscribed queue whose Lambda events look like SNS's. */
export class SnsSource extends SqsSource {
  /** SNS notifications (`aws:sns`): Lambda subscribes to the topic. */
  override readonly codec: LambdaRecordCodec = snsCodec;
  readonly #topicArn: string;
  readonly #direct: boolean;

  /** `direct`: Lambda consumes the topic itself; there is no queue to receive from. */
  constructor(options: SqsSourceOptions, direct = false) {
    super(options);
    this.#topicArn = options.uri;
    this.#direct = direct;
  }

  /** The message, unwrapped from `{"default": …}` where an older seed system published it so. */
  protected override messageBody(body: string): string {
    return unwrapDefault(body);
  }

  /** Nothing to poll when Lambda consumes the topic itself. */
  override async receive(options: ReceiveOptions): Promise<Delivery[]> {
    return this.#direct ? [] : super.receive(options);
  }

  /** Nothing waits in a queue when Lambda consumes the topic itself. */
  override async pending(correlationId?: string): Promise<number> {
    return this.#direct ? 0 : super.pending(correlationId);
  }

  /** The deliveries as the SNSEvent Lambda's SNS trigger sends (one record per delivery). */
  override lambdaEvent(deliveries: readonly Delivery[]): unknown {
    const event: SNSEvent = { Records: deliveries.map((delivery) => this.#record(delivery)) };
    return event;
  }

  #record(delivery: Delivery): SNSEventRecord {
    const { message } = delivery.handle as SqsHandle;
    const attributes: SNSEventRecord["Sns"]["MessageAttributes"] = {};
    for (const [name, value] of Object.entries(message?.MessageAttributes ?? {})) {
      attributes[name] = { Type: value.DataType ?? "String", Value: value.StringValue ?? "" };
    }
    const sent = Number(message?.Attributes?.SentTimestamp ?? Date.now());
    return {
      EventVersion: "1.0",
      EventSubscriptionArn: `${this.#topicArn}:switchyard`,
      EventSource: "aws:sns",
      Sns: {
        SignatureVersion: "1",
        Timestamp: new Date(sent).toISOString(),
        Signature: "",
        SigningCertUrl: "",
        MessageId: delivery.id,
        Message: delivery.body,
        MessageAttributes: attributes,
        Type: "Notification",
        UnsubscribeUrl: "",
        TopicArn: this.#topicArn,
      },
    };
  }

  /** A notification cannot be held back: SNS has no delays, so an early one runs on arrival. */
  override async holdUntilDue(): Promise<boolean> {
    return false;
  }

  /** The message id (SNS has no partial batches: one record per invocation). */
  override itemIdentifier(delivery: Delivery): string {
    return delivery.id;
  }
}

/** An opened SNS backend. */
export interface SnsBackend extends Backend {
  readonly client: SNSClient;
  /** The subscribed queue deliveries are read from. */
  readonly queue: SqsQueue;
  readonly deadLetters: SqsDeadLetters;
  stream(side: Side): SnsSource;
  retry(side: Side): SnsSource;
  provision(): Promise<string[]>;
}

/** Open the SNS topic `uri` names and its consumer queue (nothing is called until first use). */
export async function openSnsBackend(uri: string, context: BackendContext): Promise<SnsBackend> {
  const arn = parseArn(uri, "sns");
  const client = observeCalls(new SNSClient({ ...clientConfig(arn, context, "sns"), requestHandler: requestHandler() }), "SNS", context.apiCalls);
  const queueArn = consumerQueueArn(uri, context.endpoints);
  const direct = context.endpoints[`${uri}#queue`] === LAMBDA_CONSUMER;
  const sqsClient = createSqsClient(parseArn(queueArn, "sqs"), context);
  const queue = new SqsQueue(sqsClient, queueArn);
  const deadLetterQueue = new SqsQueue(sqsClient, deadLetterQueueArn(queueArn));
  const sender = new SnsSender(client, uri);
  const source = sourcePerRole((role, side) => new SnsSource({ uri, role, side, clock: context.clock, queue, deadLetterQueue, sender, region: arn.region }, direct));

  async function createTopic(): Promise<string> {
    try {
      await client.send(new GetTopicAttributesCommand({ TopicArn: uri }));
      return `exists topic ${uri}`;
    } catch (error) {
      const failure = translate(uri, "GetTopicAttributes", error);
      if (!(failure instanceof SystemError) || failure.code !== "missing_topic") throw failure;
    }
    try {
      await client.send(new CreateTopicCommand({ Name: resourceName(arn) }));
      return `created topic ${uri}`;
    } catch (error) {
      throw translate(uri, "CreateTopic", error);
    }
  }

  async function subscribe(): Promise<string> {
    try {
      let token: string | undefined;
      do {
        const page = await client.send(new ListSubscriptionsByTopicCommand({ TopicArn: uri, NextToken: token }));
        if ((page.Subscriptions ?? []).some((s) => s.Protocol === "sqs" && s.Endpoint === queueArn)) {
          return `exists subscription ${queueArn} to ${uri}`;
        }
        token = page.NextToken;
      } while (token !== undefined);
      await client.send(
        new SubscribeCommand({
          TopicArn: uri,
          Protocol: "sqs",
          Endpoint: queueArn,
          Attributes: { RawMessageDelivery: "true" },
          ReturnSubscriptionArn: true,
        }),
      );
      return `created subscription ${queueArn} to ${uri}`;
    } catch (error) {
      throw translate(uri, "Subscribe", error);
    }
  }

  return {
    uri,
    client,
    queue,
    deadLetters: new SqsDeadLetters(deadLetterQueue, uri),
    stream: (side) => source("stream", side),
    retry: (side) => source("retry", side),
    async provision() {
      const lines = [await createTopic()];
      if (direct) {
        lines.push(`${await deadLetterQueue.create()} queue ${deadLetterQueue.arn}`);
        lines.push(`no consumer queue: the Lambda function subscribes to ${uri} itself`);
        return lines;
      }
      for (const each of [queue, deadLetterQueue]) lines.push(`${await each.create()} queue ${each.arn}`);
      await queue.setAttributes({ Policy: JSON.stringify(consumerQueuePolicy(queueArn, uri)) });
      lines.push(await subscribe());
      return lines;
    },
    async close() {
      for (const opened of source.opened()) await opened.handBackHidden();
      client.destroy();
      sqsClient.destroy();
    },
  };
}
