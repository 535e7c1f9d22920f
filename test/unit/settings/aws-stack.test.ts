/**
 * The plan of `switchyard template` (settings/aws-stack.ts) and the stack written from it
 * (lambda/template.ts): which resources, triggers and statements each transport brings, that the
 * tables are the very shapes `resources create` makes, and the one-line refusals.
 */
import { describe, expect, it } from "vitest";
import { tableDefinition } from "../../../src/backends/aws/dynamodb/table-shapes.js";
import type { DefinitionSet } from "../../../src/core/machine.js";
import { buildTemplate } from "../../../src/lambda/template.js";
import { planAwsStack } from "../../../src/settings/aws-stack.js";
import { resolveSettings, type SettingsConfig } from "../../../src/settings/settings.js";

const A = "arn:aws:sqs:eu-west-1:111122223333";
const settings = (config: SettingsConfig) => resolveSettings(config, { baseDir: "/tmp", file: undefined });
const family = "arn:aws:dynamodb:eu-west-1:111122223333:table/orders";
const dynamo = { retry: family, cache: family, checkpoint: family, environment: false, metrics: false, journal: `${family}?journal_ttl_days=30` } as const;
const definitions = { machines: new Map([["order", { name: "order", states: new Map() }]]), files: [], get: () => ({}) } as unknown as DefinitionSet;

function template(config: SettingsConfig) {
  const built = buildTemplate({ plan: planAwsStack(settings(config)), definitions, settingsFile: "s.yaml", definitionsFile: "fsm.yaml" });
  return built as { Resources: Record<string, { Type: string; Properties: Record<string, unknown> }> };
}

describe("planAwsStack", () => {
  it("a failover stream on two transports: the queue and its dead letters, the stream, a trigger for each", () => {
    const plan = planAwsStack(settings({ ...dynamo, stream: { primary: `${A}:orders`, secondary: "arn:aws:kinesis:eu-west-1:111122223333:stream/orders" } }));
    expect(plan.queues).toEqual([
      { name: "orders", arn: `${A}:orders` },
      { name: "orders-dead-letters", arn: `${A}:orders-dead-letters`, deadLettersOf: `${A}:orders` },
    ]);
    expect(plan.streams).toEqual([{ name: "orders", arn: "arn:aws:kinesis:eu-west-1:111122223333:stream/orders", shards: 1 }]);
    expect(plan.triggers.map((trigger) => trigger.kind)).toEqual(["sqs", "kinesis"]);
    expect(plan.timer).toBe(true);
    expect(plan.regions).toEqual(["eu-west-1"]);
    expect(plan.accounts).toEqual(["111122223333"]);
  });

  it("one DynamoDB family however many roles name it, with the shapes resources create makes", () => {
    const plan = planAwsStack(settings({ ...dynamo, stream: family }));
    expect(plan.tables.map((table) => table.name)).toEqual(
      ["stream", "retry", "cache", "checkpoint", "environment", "dead-letters", "leases", "instances", "journal"].map((kind) => `orders-${kind}`),
    );
    for (const table of plan.tables) {
      expect(table.definition).toEqual(tableDefinition(table.kind));
      expect(table.journal).toBe(true);
    }
    expect(plan.tables.filter((table) => table.ttlAttribute !== undefined).map((table) => table.kind)).toEqual(["cache", "environment", "instances", "journal"]);
    expect(plan.triggers).toEqual([{ kind: "dynamodb", tableArn: `${family.replace("table/orders", "table/orders-stream")}`, keys: ["stream.primary"] }]);
  });

  it("an SNS topic the function subscribes to: the topic, the dead-letter queue provision() makes, a subscription", () => {
    const topic = "arn:aws:sns:eu-west-1:111122223333:orders";
    const plan = planAwsStack(settings({ ...dynamo, stream: topic, endpoints: { [`${topic}#queue`]: "lambda" } }));
    expect(plan.topics).toEqual([{ name: "orders", arn: topic }]);
    expect(plan.queues.map((queue) => queue.name)).toEqual(["orders-switchyard-dead-letters"]);
    expect(plan.triggers).toEqual([{ kind: "sns", arn: topic, keys: ["stream.primary"] }]);
    const { Resources } = template({ ...dynamo, stream: topic, endpoints: { [`${topic}#queue`]: "lambda" } });
    expect(Resources.TopicOrdersSubscription?.Properties).toMatchObject({ Protocol: "lambda", TopicArn: { Ref: "TopicOrders" } });
    expect(Resources.TopicOrdersPermission?.Properties).toMatchObject({ Principal: "sns.amazonaws.com" });
  });

  it("refuses, in one line, what a stack cannot deploy", () => {
    const topic = "arn:aws:sns:eu-west-1:111122223333:orders";
    expect(() => planAwsStack(settings({ ...dynamo, stream: topic }))).toThrow(
      `stream.primary names the SNS topic ${topic}, read through the queue arn:aws:sqs:eu-west-1:111122223333:orders-switchyard; on Lambda the function subscribes to the topic: add endpoints: {"${topic}#queue": "lambda"} to the settings`,
    );
    expect(() => planAwsStack(settings({ ...dynamo, stream: `${A}:orders`, cache: "sqlite:./c.db" }))).toThrow(/^cache\.primary names sqlite:\.\/c\.db: a SQLite file on Lambda/);
  });
});

describe("buildTemplate", () => {
  it("a DynamoDB stream: the trigger on its inserts, and the stream's read actions on its ARN", () => {
    const { Resources } = template({ ...dynamo, stream: family });
    expect(Resources.TableOrdersStreamTrigger?.Properties).toMatchObject({
      EventSourceArn: { "Fn::GetAtt": ["TableOrdersStream", "StreamArn"] },
      FilterCriteria: { Filters: [{ Pattern: '{"eventName":["INSERT"]}' }] },
      FunctionResponseTypes: ["ReportBatchItemFailures"],
    });
    const role = Resources.FunctionRole?.Properties as { Policies: Array<{ PolicyDocument: { Statement: Array<{ Sid: string; Resource: unknown }> } }> };
    const statements = role.Policies[0]?.PolicyDocument.Statement ?? [];
    expect(statements.map((statement) => statement.Sid)).toEqual(["Logs", "Tables", "Journal", "TableStreams", "ListTableStreams"]);
    expect(statements.find((statement) => statement.Sid === "TableStreams")?.Resource).toEqual([{ "Fn::GetAtt": ["TableOrdersStream", "StreamArn"] }]);
  });

  it("refuses settings whose resources live in two regions: a stack lives in one", () => {
    expect(() => template({ ...dynamo, stream: { primary: `${A}:orders`, secondary: "arn:aws:sqs:us-east-1:111122223333:orders" } })).toThrow(
      "the settings name resources in the regions eu-west-1 and us-east-1; one stack lives in one region and account: generate a stack per region with settings naming only its resources",
    );
  });

  it("logical ids from names, and two names that would share one are refused", () => {
    expect(() => template({ ...dynamo, stream: { primary: `${A}:orders-a`, secondary: `${A}:orders_a` } })).toThrow(
      "two resources of the settings would both be QueueOrdersA in the template; give them names that differ in more than punctuation",
    );
  });
});
