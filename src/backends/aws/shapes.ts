/**
 * What each AWS backend creates and calls, as data and without loading the AWS SDK: the resources
 * its `provision()` makes (`switchyard resources create`) and the IAM actions its ports call at run
 * time. The CloudFormation template (`switchyard template`) declares the same resources and grants
 * exactly those actions, so a deployed stack and `resources create` never disagree.
 */
import { parseArn, resourceName } from "./arn.js";

/** The ARN of the dead-letter queue of queue `arn`. */
export function deadLetterQueueArn(arn: string): string {
  return `${arn}-dead-letters`;
}

/**
 * `endpoints["<topicArn>#queue"]: lambda`: the function subscribes to the topic itself, so there is
 * no consumer queue to create or to poll (only the dead-letter queue).
 */
export const LAMBDA_CONSUMER = "lambda";

/** The ARN of the queue that consumes topic `topicArn`. */
export function consumerQueueArn(topicArn: string, endpoints: Readonly<Record<string, string>>): string {
  const configured = endpoints[`${topicArn}#queue`];
  if (configured !== undefined && configured !== LAMBDA_CONSUMER) return configured;
  const arn = parseArn(topicArn, "sns");
  return `arn:${arn.partition}:sqs:${arn.region}:${arn.account}:${resourceName(arn)}-switchyard`;
}

/** The queue policy that lets the topic send to its consumer queue. */
export function consumerQueuePolicy(queueArn: string, topicArn: string) {
  return {
    Version: "2012-10-17",
    Statement: [
      {
        Sid: "switchyard-sns",
        Effect: "Allow",
        Principal: { Service: "sns.amazonaws.com" },
        Action: "sqs:SendMessage",
        Resource: queueArn,
        Condition: { ArnEquals: { "aws:SourceArn": topicArn } },
      },
    ],
  };
}

/** Shards of a stream that `provision()` creates. */
export const KINESIS_SHARDS = 1;

/**
 * The IAM actions each backend's ports call at run time (provisioning calls such as CreateQueue are
 * not among them: the function never creates resources). Batch calls (SendMessageBatch,
 * PublishBatch, TransactWriteItems) are authorized by the actions of their entries, so they have no
 * action of their own here. Lambda's event source mappings use the function's role too: the SQS,
 * Kinesis and DynamoDB Streams read actions cover them.
 */
export const RUNTIME_ACTIONS = {
  /** SqsQueue (sqs-queue.ts): sends, receives, deletes, visibility changes, attributes, the URL. */
  sqs: ["sqs:ChangeMessageVisibility", "sqs:DeleteMessage", "sqs:GetQueueAttributes", "sqs:GetQueueUrl", "sqs:ReceiveMessage", "sqs:SendMessage"],
  /** SnsSender (sns.ts): Publish and PublishBatch. */
  sns: ["sns:Publish"],
  /** KinesisStream (kinesis-stream.ts), and DescribeStream for Lambda's event source mapping. */
  kinesis: [
    "kinesis:DescribeStream",
    "kinesis:DescribeStreamSummary",
    "kinesis:GetRecords",
    "kinesis:GetShardIterator",
    "kinesis:ListShards",
    "kinesis:PutRecord",
    "kinesis:PutRecords",
  ],
  /** Every table of a family (dynamodb/*.ts), and DescribeTable for the retry table's layout. */
  dynamodb: [
    "dynamodb:BatchWriteItem",
    "dynamodb:DeleteItem",
    "dynamodb:DescribeTable",
    "dynamodb:GetItem",
    "dynamodb:PutItem",
    "dynamodb:Query",
    "dynamodb:UpdateItem",
  ],
  /**
   * The journal's tables besides the above (dynamodb/journal.ts): batch reads, the scans of `list`,
   * and ConditionCheckItem (IAM checks a TransactWriteItems's ConditionCheck by its own action).
   */
  dynamodbJournal: ["dynamodb:BatchGetItem", "dynamodb:ConditionCheckItem", "dynamodb:Scan"],
  /** The stream table's DynamoDB stream, read by Lambda's event source mapping. */
  dynamodbStreams: ["dynamodb:DescribeStream", "dynamodb:GetRecords", "dynamodb:GetShardIterator"],
  /** DynamoDB Streams' ListStreams, which takes no resource. */
  dynamodbListStreams: ["dynamodb:ListStreams"],
  /** CloudWatchMetrics (cloudwatch.ts); `cloudwatch-emf:` calls nothing. */
  cloudwatch: ["cloudwatch:PutMetricData"],
  /**
   * The `ecs:` task steps (ecs-task.ts): start a task, watch it, stop it once its step is settled;
   * on Lambda the scheduled timer lists the running tasks to find those.
   */
  ecsTasks: ["ecs:DescribeTasks", "ecs:ListTasks", "ecs:RunTask", "ecs:StopTask"],
} as const;

/**
 * What a task's `switchyard report` and `switchyard heartbeat` call (client/report-task.ts), by
 * backend: read the task's environment entry and the journal (its record, its machine's
 * registered version), send the event to the stream, and schedule the task's timer again on the
 * retry role. The stack's task role grants these, a subset of {@link RUNTIME_ACTIONS}.
 */
export const REPORT_ACTIONS = {
  sqs: ["sqs:GetQueueUrl", "sqs:SendMessage"],
  sns: ["sns:Publish"],
  kinesis: ["kinesis:PutRecord"],
  dynamodb: ["dynamodb:DescribeTable", "dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:Query"],
} as const;
