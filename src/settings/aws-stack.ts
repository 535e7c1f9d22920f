/**
 * The AWS resources a deployment of the settings needs, as data: exactly what `resources create`
 * makes for each backend (queues with their dead-letter queues, streams, topics, table families
 * with their indexes, TTL and streams), what triggers the Lambda function (event source mappings,
 * SNS subscriptions, the timer), and the IAM actions the backends call, per resource. The
 * CloudFormation template (lambda/template.ts) is written from this plan; the shapes come from the
 * backends' own descriptions (backends/aws/shapes.ts, dynamodb/table-shapes.ts), never copied.
 *
 * Like `settings/backends.ts`, this is the place that knows which backend a URI names.
 */
import { parseArn, resourceName } from "../backends/aws/arn.js";
import { type CloudWatchUri, parseCloudWatchUri } from "../backends/aws/cloudwatch-uri.js";
import { parseDynamoDbUri } from "../backends/aws/dynamodb/uri.js";
import { TABLE_KINDS, type TableKind, TTL_ATTRIBUTE, tableDefinition, WITH_TTL } from "../backends/aws/dynamodb/table-shapes.js";
import { consumerQueueArn, deadLetterQueueArn, KINESIS_SHARDS, LAMBDA_CONSUMER } from "../backends/aws/shapes.js";
import { SettingsError } from "../errors.js";

export { REPORT_ACTIONS, RUNTIME_ACTIONS } from "../backends/aws/shapes.js";
import { type RoleName, SIDES } from "../ports.js";
import { settingsUris } from "./provision.js";
import { keysNaming, type Settings } from "./settings.js";

/** An SQS queue to create. */
export interface PlannedQueue {
  readonly name: string;
  readonly arn: string;
  /** Set on a dead-letter queue: the queue whose dead letters it keeps. */
  readonly deadLettersOf?: string | undefined;
}

/** A Kinesis data stream to create. */
export interface PlannedStream {
  readonly name: string;
  readonly arn: string;
  readonly shards: number;
}

/** An SNS topic to create, consumed by the function itself. */
export interface PlannedTopic {
  readonly name: string;
  readonly arn: string;
}

/** One table of a DynamoDB family. */
export interface PlannedTable {
  readonly name: string;
  readonly arn: string;
  readonly kind: TableKind;
  /** Its CreateTable input without name and billing mode (dynamodb/table-shapes.ts). */
  readonly definition: ReturnType<typeof tableDefinition>;
  /** The TTL attribute, where the table has one. */
  readonly ttlAttribute: string | undefined;
  /** The family's base name (`orders` for `orders-stream`). */
  readonly family: string;
  /** Whether the journal lives in this family (its instances and journal tables get the journal's actions). */
  readonly journal: boolean;
}

/** What invokes the function for one transport. */
export type PlannedTrigger =
  | { readonly kind: "sqs"; readonly arn: string; readonly keys: readonly string[] }
  | { readonly kind: "kinesis"; readonly arn: string; readonly keys: readonly string[] }
  | { readonly kind: "dynamodb"; readonly tableArn: string; readonly keys: readonly string[] }
  | { readonly kind: "sns"; readonly arn: string; readonly keys: readonly string[] };

/** A backend the template does not create: it exists already, and the function reaches it. */
export interface ExistingBackend {
  readonly uri: string;
  readonly keys: readonly string[];
  /** Why the template leaves it out, one line. */
  readonly note: string;
  /** Whether the function must run in a VPC to reach it (ElastiCache, a database). */
  readonly vpc: boolean;
  /** The endpoint the settings give it, if any. */
  readonly endpoint?: string | undefined;
}

/** Everything a deployment of the settings needs on AWS. */
export interface AwsStackPlan {
  readonly queues: readonly PlannedQueue[];
  readonly streams: readonly PlannedStream[];
  readonly topics: readonly PlannedTopic[];
  readonly tables: readonly PlannedTable[];
  readonly triggers: readonly PlannedTrigger[];
  /** A timer-polled source exists (the DynamoDB retry table): the schedule that runs the timer. */
  readonly timer: boolean;
  /** `cloudwatch:` metrics roles (`cloudwatch-emf:` too: its lines become the same metrics). */
  readonly metrics: readonly CloudWatchUri[];
  readonly existing: readonly ExistingBackend[];
  /** The regions and accounts the ARNs name (a stack creates its resources in one of each). */
  readonly regions: readonly string[];
  readonly accounts: readonly string[];
}

/** Role-side pairs whose sources the function consumes. */
const CONSUMED: readonly RoleName[] = ["stream", "retry"];

/**
 * The plan for `settings`. Refuses, in one line, what cannot be deployed as a stack: SQLite (on
 * Lambda a file lives in /tmp and dies with the container), and an SNS topic read through a
 * consumer queue (on Lambda the function subscribes to the topic: `endpoints: {"<topic>#queue": "lambda"}`).
 */
export function planAwsStack(settings: Settings): AwsStackPlan {
  const queues = new Map<string, PlannedQueue>();
  const streams = new Map<string, PlannedStream>();
  const topics = new Map<string, PlannedTopic>();
  const tables = new Map<string, PlannedTable>();
  const triggers = new Map<string, PlannedTrigger>();
  const metrics: CloudWatchUri[] = [];
  const existing = new Map<string, ExistingBackend>();
  const regions = new Set<string>();
  const accounts = new Set<string>();
  let timer = false;

  const journalFamily = settings.journal !== undefined && isDynamoDb(settings.journal) ? parseDynamoDbUri(settings.journal).arn : undefined;

  const consumedBy = (uri: string): boolean =>
    CONSUMED.some((role) => SIDES.some((side) => settings.roles[role]?.[side] === uri));
  const roleOf = (uri: string, role: RoleName): boolean => SIDES.some((side) => settings.roles[role]?.[side] === uri);

  for (const uri of settingsUris(settings)) {
    const keys = keysNaming(settings, uri);
    const used = keys.join(", ");
    if (uri.startsWith("sqlite:")) {
      throw new SettingsError(
        `${used} names ${uri}: a SQLite file on Lambda lives in /tmp and is lost with the container; name an AWS resource (or a database the function reaches) for every role`,
      );
    }
    if (/^arn:aws[a-z-]*:sqs:/.test(uri)) {
      const arn = parseArn(uri, "sqs");
      note(arn);
      addQueue(queues, uri);
      if (consumedBy(uri)) triggers.set(uri, { kind: "sqs", arn: uri, keys });
      continue;
    }
    if (/^arn:aws[a-z-]*:kinesis:/.test(uri)) {
      const arn = parseArn(uri, "kinesis");
      note(arn);
      streams.set(uri, { name: resourceName(arn, "stream"), arn: uri, shards: KINESIS_SHARDS });
      if (consumedBy(uri)) triggers.set(uri, { kind: "kinesis", arn: uri, keys });
      continue;
    }
    if (/^arn:aws[a-z-]*:sns:/.test(uri)) {
      const arn = parseArn(uri, "sns");
      note(arn);
      if (settings.endpoints[`${uri}#queue`] !== LAMBDA_CONSUMER) {
        throw new SettingsError(
          `${used} names the SNS topic ${uri}, read through the queue ${consumerQueueArn(uri, settings.endpoints)}; on Lambda the function subscribes to the topic: add endpoints: {"${uri}#queue": "lambda"} to the settings`,
        );
      }
      topics.set(uri, { name: resourceName(arn), arn: uri });
      // provision() creates the dead-letter queue of the consumer queue even when Lambda consumes the topic.
      addQueueOnly(queues, deadLetterQueueArn(consumerQueueArn(uri, {})), consumerQueueArn(uri, {}));
      if (consumedBy(uri)) triggers.set(uri, { kind: "sns", arn: uri, keys });
      continue;
    }
    if (isDynamoDb(uri)) {
      const family = parseDynamoDbUri(uri).arn;
      const arn = parseArn(family, "dynamodb");
      note(arn);
      const base = resourceName(arn, "table");
      for (const kind of TABLE_KINDS) {
        const name = `${base}-${kind}`;
        if (tables.has(name)) continue;
        tables.set(name, {
          name,
          arn: `arn:${arn.partition}:dynamodb:${arn.region}:${arn.account}:table/${name}`,
          kind,
          definition: tableDefinition(kind),
          ttlAttribute: WITH_TTL.has(kind) ? TTL_ATTRIBUTE : undefined,
          family: base,
          journal: journalFamily === family,
        });
      }
      const streamTable = `${base}-stream`;
      if (roleOf(uri, "stream")) triggers.set(streamTable, { kind: "dynamodb", tableArn: (tables.get(streamTable) as PlannedTable).arn, keys: keys.filter((key) => key.startsWith("stream.")) });
      if (roleOf(uri, "retry")) timer = true;
      continue;
    }
    if (uri.startsWith("cloudwatch:") || uri.startsWith("cloudwatch-emf:")) {
      metrics.push(parseCloudWatchUri(uri));
      continue;
    }
    if (/^arn:aws[a-z-]*:elasticache:/.test(uri)) {
      note(parseArn(uri, "elasticache"));
      existing.set(uri, {
        uri,
        keys,
        vpc: true,
        endpoint: settings.endpoints[uri],
        note: "ElastiCache runs inside a VPC (subnets, security groups, a subnet group) that a generated stack cannot choose sensibly: create the cluster yourself and give its URL as the Endpoint parameter (handed to the function as SWITCHYARD_ENDPOINTS; default: the settings' endpoints entry), and the function's subnets and security groups as parameters",
      });
      continue;
    }
    if (/^(postgres(ql)?|rediss?|memcached):\/\//.test(uri)) {
      existing.set(uri, { uri, keys, vpc: true, note: "a server the template does not create: the function reaches it from the subnets and security groups given as parameters" });
      continue;
    }
    existing.set(uri, { uri, keys, vpc: false, note: "nothing to create" });
  }

  return {
    queues: [...queues.values()],
    streams: [...streams.values()],
    topics: [...topics.values()],
    tables: [...tables.values()],
    triggers: [...triggers.values()],
    timer,
    metrics,
    existing: [...existing.values()],
    regions: [...regions],
    accounts: [...accounts],
  };

  function note(arn: { region: string; account: string }): void {
    regions.add(arn.region);
    if (arn.account !== "") accounts.add(arn.account);
  }
}

function isDynamoDb(uri: string): boolean {
  return /^arn:aws[a-z-]*:dynamodb:/.test(uri);
}

/** A queue and its dead-letter queue, as `SqsBackend.provision()` creates them. */
function addQueue(queues: Map<string, PlannedQueue>, arn: string): void {
  if (!queues.has(arn)) queues.set(arn, { name: resourceName(parseArn(arn, "sqs")), arn });
  addQueueOnly(queues, deadLetterQueueArn(arn), arn);
}

function addQueueOnly(queues: Map<string, PlannedQueue>, arn: string, deadLettersOf: string): void {
  if (!queues.has(arn)) queues.set(arn, { name: resourceName(parseArn(arn, "sqs")), arn, deadLettersOf });
}
