/**
 * One SQS queue named by ARN: its URL, resolved once with GetQueueUrl and cached, and every call on
 * it with failures translated into one-line errors (a missing queue names the command that creates
 * it). The single place Switchyard talks to the SQS API.
 */
import {
  ChangeMessageVisibilityCommand,
  CreateQueueCommand,
  DeleteMessageCommand,
  GetQueueAttributesCommand,
  GetQueueUrlCommand,
  type Message,
  type QueueAttributeName,
  ReceiveMessageCommand,
  SendMessageBatchCommand,
  type SendMessageBatchRequestEntry,
  type SendMessageBatchResult,
  SendMessageCommand,
  type SendMessageCommandInput,
  SetQueueAttributesCommand,
  SQSClient,
} from "@aws-sdk/client-sqs";
import { SystemError } from "../../errors.js";
import type { BackendContext } from "../backend.js";
import { type Arn, clientConfig, parseArn, resourceName } from "./arn.js";
import { awsFailure, errorName, missingResourceError, observeCalls, requestHandler } from "./http.js";
import { SQS_MAX_VISIBILITY_SECONDS } from "./limits.js";

/** An SQS client for the region and endpoint of `arn`, with bounded retries and timeouts. */
export function createSqsClient(arn: Arn, context: Pick<BackendContext, "endpoints" | "apiCalls">): SQSClient {
  return observeCalls(new SQSClient({ ...clientConfig(arn, context, "sqs"), requestHandler: requestHandler() }), "SQS", context.apiCalls);
}

/** The one-line error for a queue that is not there. */
export function missingQueueError(arn: string, cause?: unknown): SystemError {
  return missingResourceError(`SQS queue ${arn}`, "missing_queue", cause);
}

function isMissing(error: unknown): boolean {
  const name = errorName(error);
  return (
    name === "QueueDoesNotExist" ||
    name === "AWS.SimpleQueueService.NonExistentQueue" ||
    (error instanceof Error && /NonExistentQueue|QueueDoesNotExist/.test(error.message))
  );
}

/** Clamp a visibility timeout to what SQS accepts (0 … 12 hours, whole seconds). */
export function visibilitySeconds(seconds: number): number {
  return Math.min(SQS_MAX_VISIBILITY_SECONDS, Math.max(0, Math.ceil(seconds)));
}

/** A queue and the calls Switchyard makes on it. */
export class SqsQueue {
  /** The queue's ARN. */
  readonly arn: string;
  /** The queue's name. */
  readonly name: string;
  readonly #parsed: Arn;
  readonly #client: SQSClient;
  #url: Promise<string> | undefined;

  constructor(client: SQSClient, arn: string) {
    this.#parsed = parseArn(arn, "sqs");
    this.arn = arn;
    this.name = resourceName(this.#parsed);
    this.#client = client;
  }

  /** The queue URL, resolved once (GetQueueUrl with the ARN's account) and cached. */
  url(): Promise<string> {
    if (this.#url === undefined) {
      const pending = this.#resolve();
      this.#url = pending;
      pending.catch(() => {
        if (this.#url === pending) this.#url = undefined;
      });
    }
    return this.#url;
  }

  async #resolve(): Promise<string> {
    try {
      const answer = await this.#client.send(
        new GetQueueUrlCommand({
          QueueName: this.name,
          ...(this.#parsed.account ? { QueueOwnerAWSAccountId: this.#parsed.account } : {}),
        }),
      );
      if (!answer.QueueUrl) throw missingQueueError(this.arn);
      return answer.QueueUrl;
    } catch (error) {
      throw this.#translate("GetQueueUrl", error);
    }
  }

  #translate(operation: string, error: unknown): Error {
    if (isMissing(error)) {
      this.#url = undefined;
      return missingQueueError(this.arn, error);
    }
    return awsFailure("SQS", operation, `queue ${this.arn}`, error);
  }

  async #call<T>(operation: string, run: (url: string) => Promise<T>): Promise<T> {
    const url = await this.url();
    try {
      return await run(url);
    } catch (error) {
      throw this.#translate(operation, error);
    }
  }

  /** Create the queue unless it exists; `created` or `exists`. */
  async create(): Promise<"created" | "exists"> {
    try {
      await this.url();
      return "exists";
    } catch (error) {
      if (!(error instanceof SystemError) || error.code !== "missing_queue") throw error;
    }
    try {
      const answer = await this.#client.send(new CreateQueueCommand({ QueueName: this.name }));
      if (answer.QueueUrl) this.#url = Promise.resolve(answer.QueueUrl);
      return "created";
    } catch (error) {
      throw awsFailure("SQS", "CreateQueue", `queue ${this.arn}`, error);
    }
  }

  /** SendMessage; the message id. */
  send(input: Omit<SendMessageCommandInput, "QueueUrl">): Promise<string> {
    return this.#call("SendMessage", async (QueueUrl) => {
      const answer = await this.#client.send(new SendMessageCommand({ ...input, QueueUrl }));
      return answer.MessageId ?? "";
    });
  }

  /** SendMessageBatch (at most 10 entries); successes and failures by entry id. */
  sendBatch(entries: SendMessageBatchRequestEntry[]): Promise<SendMessageBatchResult> {
    return this.#call("SendMessageBatch", (QueueUrl) =>
      this.#client.send(new SendMessageBatchCommand({ QueueUrl, Entries: entries })),
    );
  }

  /** ReceiveMessage with system and message attributes, without long polling. */
  receive(max: number, visibilityTimeoutSeconds: number): Promise<Message[]> {
    return this.#call("ReceiveMessage", async (QueueUrl) => {
      const answer = await this.#client.send(
        new ReceiveMessageCommand({
          QueueUrl,
          MaxNumberOfMessages: Math.max(1, Math.min(10, max)),
          VisibilityTimeout: visibilitySeconds(visibilityTimeoutSeconds),
          WaitTimeSeconds: 0,
          MessageSystemAttributeNames: ["All"],
          MessageAttributeNames: ["All"],
        }),
      );
      return answer.Messages ?? [];
    });
  }

  /** DeleteMessage. */
  delete(receiptHandle: string): Promise<void> {
    return this.#call("DeleteMessage", async (QueueUrl) => {
      await this.#client.send(new DeleteMessageCommand({ QueueUrl, ReceiptHandle: receiptHandle }));
    });
  }

  /** ChangeMessageVisibility. */
  changeVisibility(receiptHandle: string, seconds: number): Promise<void> {
    return this.#call("ChangeMessageVisibility", async (QueueUrl) => {
      await this.#client.send(
        new ChangeMessageVisibilityCommand({ QueueUrl, ReceiptHandle: receiptHandle, VisibilityTimeout: visibilitySeconds(seconds) }),
      );
    });
  }

  /** SetQueueAttributes (e.g. the policy that lets an SNS topic send to the queue). */
  setAttributes(attributes: Record<string, string>): Promise<void> {
    return this.#call("SetQueueAttributes", async (QueueUrl) => {
      await this.#client.send(new SetQueueAttributesCommand({ QueueUrl, Attributes: attributes }));
    });
  }

  /** GetQueueAttributes (values as SQS returns them: strings). */
  attributes(names: QueueAttributeName[]): Promise<Record<string, string>> {
    return this.#call("GetQueueAttributes", async (QueueUrl) => {
      const answer = await this.#client.send(new GetQueueAttributesCommand({ QueueUrl, AttributeNames: names }));
      return answer.Attributes ?? {};
    });
  }
}
