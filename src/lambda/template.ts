/**
 * A CloudFormation stack for the Lambda runtime (`switchyard template`): the resources the
 * settings name, exactly as `resources create` makes them (settings/aws-stack.ts plans them from
 * the backends' own shapes), and the function's wiring: the function (code from S3), its log group
 * with retention, its role with the actions each backend calls on each resource, the event source
 * mappings with `ReportBatchItemFailures`, SNS subscriptions, the timer's schedule, the HTTP API's
 * routes (http.ts) and alarms on the `fatal` and `dispatch` counters.
 *
 * The document is plain data built in a fixed order, so the same definitions and settings always
 * give the same text: it can be committed, diffed and compared in a test.
 */
import path from "node:path";
import { stringify } from "yaml";
import { type DefinitionSet, ecsTasksOf } from "../core/machine.js";
import type { EcsTaskDefinition } from "../core/task.js";
import { loadDefinitionFile } from "../definition/load.js";
import { SettingsError } from "../errors.js";
import { type AwsStackPlan, type PlannedTable, type PlannedTrigger, planAwsStack, REPORT_ACTIONS, RUNTIME_ACTIONS } from "../settings/aws-stack.js";
import { loadSettings } from "../settings/settings.js";
import { HTTP_ROUTE_KEYS, TASK_ROUTES } from "./http.js";

/** A CloudFormation template as data. */
export type CloudFormationTemplate = Record<string, unknown>;

/** What the template is made of besides the plan. */
export interface TemplateInput {
  readonly plan: AwsStackPlan;
  readonly definitions: DefinitionSet;
  /** The settings and definitions files as the function finds them in its bundle (environment defaults). */
  readonly settingsFile: string;
  readonly definitionsFile: string;
}

/** The counters that get an alarm: a failed instance, and a message no transport took. */
export const ALARMED_COUNTERS = ["fatal", "dispatch"] as const;

/** CloudWatch Logs' allowed retention values, in days. */
const RETENTION_DAYS = [1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653];

const ref = (name: string) => ({ Ref: name });
const getAtt = (name: string, attribute: string) => ({ "Fn::GetAtt": [name, attribute] });
const sub = (text: string) => ({ "Fn::Sub": text });
/** `${name}` inside an Fn::Sub string. */
const v = (name: string) => `\${${name}}`;

/** A logical id from a resource name: `orders-stream` → `OrdersStream`, after `prefix`. */
export function logicalId(prefix: string, name: string): string {
  const words = name.split(/[^A-Za-z0-9]+/).filter((word) => word !== "");
  return prefix + words.map((word) => word.charAt(0).toUpperCase() + (word === word.toUpperCase() ? word.slice(1).toLowerCase() : word.slice(1))).join("");
}

/** The template as a data structure. */
export function buildTemplate(input: TemplateInput): CloudFormationTemplate {
  const { plan } = input;
  // A stack creates its resources in one region and account; the function addresses them by the settings' ARNs.
  for (const [what, values] of [["regions", plan.regions], ["accounts", plan.accounts]] as const) {
    if (values.length > 1) {
      throw new SettingsError(`the settings name resources in the ${what} ${values.join(" and ")}; one stack lives in one region and account: generate a stack per ${what === "regions" ? "region" : "account"} with settings naming only its resources`);
    }
  }
  const machines = [...input.definitions.machines.keys()];
  const resources: Record<string, unknown> = {};
  const ids = new Set<string>();
  const add = (id: string, resource: Record<string, unknown>) => {
    if (ids.has(id)) throw new SettingsError(`two resources of the settings would both be ${id} in the template; give them names that differ in more than punctuation`);
    ids.add(id);
    resources[id] = resource;
  };
  const vpc = plan.existing.some((backend) => backend.vpc);
  const sqsTriggers = plan.triggers.filter((trigger) => trigger.kind === "sqs");
  const streamTriggers = plan.triggers.filter((trigger) => trigger.kind === "kinesis" || trigger.kind === "dynamodb");

  const queueId = (arn: string) => logicalId("Queue", plan.queues.find((queue) => queue.arn === arn)?.name ?? arn);
  const streamId = (arn: string) => logicalId("Stream", plan.streams.find((stream) => stream.arn === arn)?.name ?? arn);
  const topicId = (arn: string) => logicalId("Topic", plan.topics.find((topic) => topic.arn === arn)?.name ?? arn);
  const tableId = (table: Pick<PlannedTable, "name">) => logicalId("Table", table.name);

  // Parameters, only those a resource uses (an unused one is a lint warning and a question).
  const parameters: Record<string, unknown> = {
    FunctionName: { Type: "String", Default: "switchyard", AllowedPattern: "^[A-Za-z0-9_-]{1,64}$", Description: "the Lambda function's name (also names its log group, API and alarms)" },
    CodeS3Bucket: { Type: "String", Description: "the S3 bucket holding the function's bundle (a zip of the esbuild output, the definitions and the settings)" },
    CodeS3Key: { Type: "String", Default: "switchyard/function.zip", Description: "the bundle's key in CodeS3Bucket" },
    Runtime: {
      Type: "String",
      Default: "nodejs22.x",
      AllowedValues: ["nodejs22.x", "nodejs24.x"],
      Description: "the Node.js runtime (nodejs20.x is deprecated: Lambda stopped creating functions on it on 2026-06-01)",
    },
    Handler: { Type: "String", Default: "index.handler", Description: "file.export of the handler in the bundle (the switchyard-fsm/lambda handler)" },
    MemorySize: { Type: "Number", Default: 512, MinValue: 128, MaxValue: 10240, Description: "the function's memory in MB" },
    Timeout: { Type: "Number", Default: 30, MinValue: 1, MaxValue: 900, Description: "the function's timeout in seconds: longer than the slowest step" },
    SettingsFile: { Type: "String", Default: input.settingsFile, Description: "SWITCHYARD_SETTINGS: the settings file in the bundle" },
    DefinitionsFile: { Type: "String", Default: input.definitionsFile, Description: "SWITCHYARD_DEFINITIONS: the definitions file in the bundle" },
    LogRetentionDays: { Type: "Number", Default: 14, AllowedValues: RETENTION_DAYS, Description: "days the function's logs are kept" },
  };
  if (sqsTriggers.length > 0) {
    parameters.QueueVisibilityTimeout = {
      Type: "Number",
      Default: 180,
      MinValue: 1,
      MaxValue: 43200,
      Description: "visibility timeout of the queues Lambda reads, in seconds: at least the function's Timeout (AWS recommends six times it)",
    };
    parameters.SqsBatchSize = { Type: "Number", Default: 10, MinValue: 1, MaxValue: 10, Description: "SQS records per invocation" };
  }
  if (streamTriggers.length > 0) {
    parameters.StreamBatchSize = { Type: "Number", Default: 100, MinValue: 1, MaxValue: 10000, Description: "Kinesis and DynamoDB Streams records per invocation" };
  }
  if (plan.triggers.some((trigger) => trigger.kind !== "sns")) {
    parameters.BatchingWindowSeconds = {
      Type: "Number",
      Default: 0,
      MinValue: 0,
      MaxValue: 300,
      Description: "seconds Lambda gathers records before it invokes: 0 keeps each transition's latency low; more makes fewer, larger invocations",
    };
  }
  const ecsTasks = ecsTasksOf(input.definitions);
  // The scheduled timer drains a DynamoDB retry table, and stops the ecs: tasks whose step was settled without them.
  const timer = plan.timer || ecsTasks.length > 0;
  if (timer) {
    parameters.TimerSchedule = {
      Type: "String",
      Default: "rate(1 minute)",
      Description: "how often the timer runs: it drains the DynamoDB retry table (retries and after: timers are due there) and stops ecs: tasks whose step was settled without them",
    };
  }
  parameters.ApiAuthorization = {
    Type: "String",
    Default: "AWS_IAM",
    AllowedValues: ["AWS_IAM", "NONE"],
    Description: "authorization of the HTTP API's routes: AWS_IAM (callers sign with SigV4) or NONE",
  };
  if (plan.metrics.length > 0) {
    parameters.AlarmPeriodSeconds = { Type: "Number", Default: 60, AllowedValues: [10, 30, 60, 300, 900, 3600], Description: "the alarms' evaluation period" };
    parameters.AlarmTopicArn = { Type: "String", Default: "", Description: "an SNS topic the alarms notify (empty: none)" };
  }
  // A cluster the stack does not create: its URL is a parameter, handed to the function as SWITCHYARD_ENDPOINTS.
  const clusters = plan.existing.filter((backend) => backend.uri.includes(":elasticache:"));
  const endpointParameter = (uri: string) => logicalId("Endpoint", uri.split(":").slice(5).join(" "));
  for (const cluster of clusters) {
    parameters[endpointParameter(cluster.uri)] = {
      Type: "String",
      ...(cluster.endpoint === undefined ? {} : { Default: cluster.endpoint }),
      AllowedPattern: "^(rediss?|memcached)://.+$",
      Description: `the URL of the existing ElastiCache cluster ${cluster.uri} (${cluster.keys.join(", ")}): the stack does not create it`.slice(0, 4000),
    };
  }
  if (vpc) {
    parameters.SubnetIds = { Type: "List<AWS::EC2::Subnet::Id>", Description: "subnets the function runs in, from which it reaches the backends the stack does not create" };
    parameters.SecurityGroupIds = { Type: "List<AWS::EC2::SecurityGroup::Id>", Description: "security groups of the function, allowed into those backends" };
  }

  // The log group first: the function logs into it, so it exists before the function does.
  add("LogGroup", {
    Type: "AWS::Logs::LogGroup",
    DeletionPolicy: "Delete",
    UpdateReplacePolicy: "Delete",
    Properties: { LogGroupName: sub(`/aws/lambda/${v("FunctionName")}`), RetentionInDays: ref("LogRetentionDays") },
  });

  add("FunctionRole", {
    Type: "AWS::IAM::Role",
    Properties: {
      AssumeRolePolicyDocument: {
        Version: "2012-10-17",
        Statement: [{ Effect: "Allow", Principal: { Service: "lambda.amazonaws.com" }, Action: "sts:AssumeRole" }],
      },
      ...(vpc ? { ManagedPolicyArns: [sub(`arn:${v("AWS::Partition")}:iam::aws:policy/service-role/AWSLambdaVPCAccessExecutionRole`)] } : {}),
      Policies: [{ PolicyName: "switchyard", PolicyDocument: { Version: "2012-10-17", Statement: statements(plan, { queueId, streamId, topicId, tableId }, ecsTasks) } }],
    },
  });

  add("Function", {
    Type: "AWS::Lambda::Function",
    DependsOn: "LogGroup",
    Properties: {
      FunctionName: ref("FunctionName"),
      Description: `Switchyard: ${machines.join(", ")}`.slice(0, 256),
      Runtime: ref("Runtime"),
      Handler: ref("Handler"),
      Code: { S3Bucket: ref("CodeS3Bucket"), S3Key: ref("CodeS3Key") },
      Role: getAtt("FunctionRole", "Arn"),
      MemorySize: ref("MemorySize"),
      Timeout: ref("Timeout"),
      Environment: {
        Variables: {
          SWITCHYARD_SETTINGS: ref("SettingsFile"),
          SWITCHYARD_DEFINITIONS: ref("DefinitionsFile"),
          SWITCHYARD_LOG_FORMAT: "json",
          NODE_OPTIONS: "--enable-source-maps",
          ...(clusters.length === 0
            ? {}
            : { SWITCHYARD_ENDPOINTS: sub(JSON.stringify(Object.fromEntries(clusters.map((cluster) => [cluster.uri, v(endpointParameter(cluster.uri))])))) }),
        },
      },
      ...(vpc ? { VpcConfig: { SubnetIds: ref("SubnetIds"), SecurityGroupIds: ref("SecurityGroupIds") } } : {}),
    },
  });

  const consumed = new Set(sqsTriggers.map((trigger) => trigger.arn));
  for (const queue of plan.queues) {
    add(queueId(queue.arn), {
      Type: "AWS::SQS::Queue",
      Properties: {
        QueueName: queue.name,
        // Lambda refuses a trigger on a queue whose visibility timeout is below the function's timeout.
        ...(consumed.has(queue.arn) ? { VisibilityTimeout: ref("QueueVisibilityTimeout") } : {}),
      },
    });
  }
  for (const stream of plan.streams) {
    add(streamId(stream.arn), {
      Type: "AWS::Kinesis::Stream",
      Properties: { Name: stream.name, ShardCount: stream.shards },
    });
  }
  for (const topic of plan.topics) {
    add(topicId(topic.arn), { Type: "AWS::SNS::Topic", Properties: { TopicName: topic.name } });
  }
  for (const table of plan.tables) add(tableId(table), tableResource(table));

  for (const trigger of plan.triggers) addTrigger(trigger);

  if (timer) {
    add("TimerRule", {
      Type: "AWS::Events::Rule",
      Properties: {
        Description: "runs the Switchyard timer: due retries and after: timers of the DynamoDB retry table; ecs: tasks settled without them",
        ScheduleExpression: ref("TimerSchedule"),
        State: "ENABLED",
        Targets: [{ Id: "switchyard-timer", Arn: getAtt("Function", "Arn") }],
      },
    });
    add("TimerPermission", permission("events.amazonaws.com", getAtt("TimerRule", "Arn")));
  }

  add("HttpApi", {
    Type: "AWS::ApiGatewayV2::Api",
    Properties: { Name: sub(`${v("FunctionName")}-api`), ProtocolType: "HTTP", Description: "the Switchyard control plane: start, status, history, events, abort, pause, resume, recover, redrive, task reports" },
  });
  add("HttpApiIntegration", {
    Type: "AWS::ApiGatewayV2::Integration",
    Properties: { ApiId: ref("HttpApi"), IntegrationType: "AWS_PROXY", IntegrationUri: getAtt("Function", "Arn"), PayloadFormatVersion: "2.0" },
  });
  for (const key of HTTP_ROUTE_KEYS) {
    add(logicalId("Route", key.replace(/[{}]/g, " ")), {
      Type: "AWS::ApiGatewayV2::Route",
      Properties: { ApiId: ref("HttpApi"), RouteKey: key, AuthorizationType: ref("ApiAuthorization"), Target: sub(`integrations/${v("HttpApiIntegration")}`) },
    });
  }
  add("HttpApiStage", { Type: "AWS::ApiGatewayV2::Stage", Properties: { ApiId: ref("HttpApi"), StageName: "$default", AutoDeploy: true } });
  add("HttpApiPermission", permission("apigateway.amazonaws.com", sub(`arn:${v("AWS::Partition")}:execute-api:${v("AWS::Region")}:${v("AWS::AccountId")}:${v("HttpApi")}/*`)));

  if (ecsTasks.length > 0) {
    // What an ecs: task needs to report (switchyard report, heartbeat): a policy to attach to the
    // task definitions' own roles, and a role with it alone for tasks that need nothing else.
    add("TaskReportPolicy", {
      Type: "AWS::IAM::ManagedPolicy",
      Properties: {
        Description: "lets an ECS task of a Switchyard step report its outcome and heartbeat (switchyard report, switchyard heartbeat)",
        PolicyDocument: {
          Version: "2012-10-17",
          Statement: [
            ...resourceStatements(plan, { queueId, streamId, topicId, tableId }, REPORT_ACTIONS),
            // Or over the handler's routes, where the API asks for signed requests (AWS_IAM).
            {
              Sid: "ReportRoutes",
              Effect: "Allow",
              Action: ["execute-api:Invoke"],
              Resource: TASK_ROUTES.map((route) => sub(`arn:${v("AWS::Partition")}:execute-api:${v("AWS::Region")}:${v("AWS::AccountId")}:${v("HttpApi")}/*/POST${route}`)),
            },
          ],
        },
      },
    });
    add("TaskRole", {
      Type: "AWS::IAM::Role",
      Properties: {
        AssumeRolePolicyDocument: {
          Version: "2012-10-17",
          Statement: [{ Effect: "Allow", Principal: { Service: "ecs-tasks.amazonaws.com" }, Action: "sts:AssumeRole" }],
        },
        ManagedPolicyArns: [ref("TaskReportPolicy")],
      },
    });
  }

  for (const metrics of plan.metrics) {
    const perMachine = metrics.dimensions.includes("machine_name");
    for (const counter of ALARMED_COUNTERS) {
      for (const machine of perMachine ? machines : [undefined]) {
        const where = machine === undefined ? "" : ` WHERE machine_name = '${machine.replace(/'/g, "''")}'`;
        const suffix = machine === undefined ? counter : `${counter}-${machine}`;
        add(logicalId("Alarm", `${plan.metrics.length > 1 ? `${metrics.namespace} ` : ""}${suffix}`), {
          Type: "AWS::CloudWatch::Alarm",
          Properties: {
            AlarmName: sub(`${v("FunctionName")}-${suffix}`),
            AlarmDescription:
              counter === "fatal"
                ? `an instance${machine === undefined ? "" : ` of ${machine}`} failed: an action exhausted its retries (the fatal counter, namespace ${metrics.namespace})`
                : `a next message${machine === undefined ? "" : ` of ${machine}`} went through the retry role because no stream took it (the dispatch counter, namespace ${metrics.namespace})`,
            Metrics: [
              {
                Id: "total",
                Expression: `SELECT SUM(${counter}) FROM "${metrics.namespace.replace(/"/g, '\\"')}"${where}`,
                Period: ref("AlarmPeriodSeconds"),
                ReturnData: true,
              },
            ],
            ComparisonOperator: "GreaterThanOrEqualToThreshold",
            Threshold: 1,
            EvaluationPeriods: 1,
            TreatMissingData: "notBreaching",
            AlarmActions: { "Fn::If": ["HasAlarmTopic", [ref("AlarmTopicArn")], ref("AWS::NoValue")] },
          },
        });
      }
    }
  }

  const outputs: Record<string, unknown> = {
    FunctionArn: { Description: "the Switchyard function", Value: getAtt("Function", "Arn") },
    ApiUrl: { Description: "the control plane's base URL (HTTP API, $default stage)", Value: getAtt("HttpApi", "ApiEndpoint") },
  };
  if (ecsTasks.length > 0) {
    outputs.TaskRoleArn = { Description: "a task role for the ecs: steps' task definitions (taskRoleArn): it may report and heartbeat, nothing else", Value: getAtt("TaskRole", "Arn") };
    outputs.TaskReportPolicyArn = { Description: "the policy a report needs, to attach to a task role of your own", Value: ref("TaskReportPolicy") };
  }
  for (const queue of plan.queues) {
    outputs[`${queueId(queue.arn)}Url`] = { Description: `the URL of queue ${queue.name}`, Value: ref(queueId(queue.arn)) };
  }

  const template: CloudFormationTemplate = {
    AWSTemplateFormatVersion: "2010-09-09",
    Description: `Switchyard on AWS Lambda: ${machines.join(", ")}. Generated by switchyard template from the definitions and settings; regenerate rather than edit.`.slice(0, 1024),
    Metadata: metadata(plan),
    Parameters: parameters,
  };
  if (plan.regions.length > 0 || plan.accounts.length > 0) template.Rules = rules(plan);
  if (plan.metrics.length > 0) template.Conditions = { HasAlarmTopic: { "Fn::Not": [{ "Fn::Equals": [ref("AlarmTopicArn"), ""] }] } };
  template.Resources = resources;
  template.Outputs = outputs;
  return template;

  function addTrigger(trigger: PlannedTrigger): void {
    const common = { FunctionName: ref("Function"), FunctionResponseTypes: ["ReportBatchItemFailures"], Enabled: true };
    switch (trigger.kind) {
      case "sqs":
        add(`${queueId(trigger.arn)}Trigger`, {
          Type: "AWS::Lambda::EventSourceMapping",
          Properties: { ...common, EventSourceArn: getAtt(queueId(trigger.arn), "Arn"), BatchSize: ref("SqsBatchSize"), MaximumBatchingWindowInSeconds: ref("BatchingWindowSeconds") },
        });
        return;
      case "kinesis":
        add(`${streamId(trigger.arn)}Trigger`, {
          Type: "AWS::Lambda::EventSourceMapping",
          Properties: {
            ...common,
            EventSourceArn: getAtt(streamId(trigger.arn), "Arn"),
            StartingPosition: "TRIM_HORIZON",
            BatchSize: ref("StreamBatchSize"),
            MaximumBatchingWindowInSeconds: ref("BatchingWindowSeconds"),
            // One batch per shard at a time: the handler processes a shard's records in order.
            ParallelizationFactor: 1,
          },
        });
        return;
      case "dynamodb": {
        const table = plan.tables.find((candidate) => candidate.arn === trigger.tableArn) as PlannedTable;
        add(`${tableId(table)}Trigger`, {
          Type: "AWS::Lambda::EventSourceMapping",
          Properties: {
            ...common,
            EventSourceArn: getAtt(tableId(table), "StreamArn"),
            StartingPosition: "TRIM_HORIZON",
            BatchSize: ref("StreamBatchSize"),
            MaximumBatchingWindowInSeconds: ref("BatchingWindowSeconds"),
            ParallelizationFactor: 1,
            // Deleting a processed item makes a REMOVE record, which carries no message.
            FilterCriteria: { Filters: [{ Pattern: JSON.stringify({ eventName: ["INSERT"] }) }] },
          },
        });
        return;
      }
      case "sns":
        add(`${topicId(trigger.arn)}Subscription`, {
          Type: "AWS::SNS::Subscription",
          Properties: { TopicArn: ref(topicId(trigger.arn)), Protocol: "lambda", Endpoint: getAtt("Function", "Arn") },
        });
        add(`${topicId(trigger.arn)}Permission`, permission("sns.amazonaws.com", ref(topicId(trigger.arn))));
        return;
    }
  }
}

function permission(principal: string, sourceArn: unknown): Record<string, unknown> {
  return {
    Type: "AWS::Lambda::Permission",
    Properties: { Action: "lambda:InvokeFunction", FunctionName: ref("Function"), Principal: principal, SourceArn: sourceArn },
  };
}

function tableResource(table: PlannedTable): Record<string, unknown> {
  const { definition } = table;
  const properties: Record<string, unknown> = {
    TableName: table.name,
    BillingMode: "PAY_PER_REQUEST",
    AttributeDefinitions: definition.AttributeDefinitions,
    KeySchema: definition.KeySchema,
  };
  if (definition.GlobalSecondaryIndexes !== undefined) properties.GlobalSecondaryIndexes = definition.GlobalSecondaryIndexes;
  if (definition.LocalSecondaryIndexes !== undefined) properties.LocalSecondaryIndexes = definition.LocalSecondaryIndexes;
  if (definition.StreamSpecification?.StreamEnabled === true) {
    properties.StreamSpecification = { StreamViewType: definition.StreamSpecification.StreamViewType };
  }
  if (table.ttlAttribute !== undefined) properties.TimeToLiveSpecification = { AttributeName: table.ttlAttribute, Enabled: true };
  return { Type: "AWS::DynamoDB::Table", DeletionPolicy: "Retain", UpdateReplacePolicy: "Retain", Properties: properties };
}

interface Ids {
  queueId(arn: string): string;
  streamId(arn: string): string;
  topicId(arn: string): string;
  tableId(table: Pick<PlannedTable, "name">): string;
}

/** A cluster as the `ecs:cluster` condition key compares it: its ARN (a bare name in this stack's region and account). */
function clusterArn(cluster: string): unknown {
  return cluster.startsWith("arn:") ? cluster : sub(`arn:\${AWS::Partition}:ecs:\${AWS::Region}:\${AWS::AccountId}:cluster/${cluster}`);
}

/** The function role's statements: each backend's runtime actions on its own resources only. */
function statements(plan: AwsStackPlan, ids: Ids, ecsTasks: readonly EcsTaskDefinition[]): unknown[] {
  const list: unknown[] = [
    { Sid: "Logs", Effect: "Allow", Action: ["logs:CreateLogStream", "logs:PutLogEvents"], Resource: getAtt("LogGroup", "Arn") },
    ...resourceStatements(plan, ids, RUNTIME_ACTIONS),
  ];
  if (plan.tables.length > 0) {
    const journal = plan.tables.filter((table) => table.journal && (table.kind === "instances" || table.kind === "journal"));
    if (journal.length > 0) {
      list.push({ Sid: "Journal", Effect: "Allow", Action: [...RUNTIME_ACTIONS.dynamodbJournal], Resource: tableResources(journal, ids) });
    }
    const triggered = plan.triggers.flatMap((trigger) => (trigger.kind === "dynamodb" ? plan.tables.filter((table) => table.arn === trigger.tableArn) : []));
    if (triggered.length > 0) {
      list.push({ Sid: "TableStreams", Effect: "Allow", Action: [...RUNTIME_ACTIONS.dynamodbStreams], Resource: triggered.map((table) => getAtt(ids.tableId(table), "StreamArn")) });
      list.push({ Sid: "ListTableStreams", Effect: "Allow", Action: [...RUNTIME_ACTIONS.dynamodbListStreams], Resource: "*" });
    }
  }
  if (ecsTasks.length > 0) {
    // RunTask, DescribeTasks and StopTask on the clusters the machines name; passing the task
    // definitions' roles to ECS is what RunTask needs besides.
    const clusters = [...new Set(ecsTasks.map((task) => task.cluster))].map(clusterArn);
    list.push({ Sid: "EcsTasks", Effect: "Allow", Action: [...RUNTIME_ACTIONS.ecsTasks], Resource: "*", Condition: { ArnEquals: { "ecs:cluster": clusters } } });
    list.push({ Sid: "PassTaskRoles", Effect: "Allow", Action: ["iam:PassRole"], Resource: "*", Condition: { StringEquals: { "iam:PassedToService": "ecs-tasks.amazonaws.com" } } });
  }
  const namespaces = [...new Set(plan.metrics.filter((metrics) => metrics.mode === "api").map((metrics) => metrics.namespace))];
  if (namespaces.length > 0) {
    // PutMetricData takes no resource; the namespace condition is its scope.
    list.push({
      Sid: "Metrics",
      Effect: "Allow",
      Action: [...RUNTIME_ACTIONS.cloudwatch],
      Resource: "*",
      Condition: { StringEquals: { "cloudwatch:namespace": namespaces } },
    });
  }
  return list;
}

/**
 * One statement per kind of the stack's resources (queues, topics, streams, tables and their
 * indexes) with `actions`' of that backend: the function's runtime actions, or a task's report.
 */
function resourceStatements(plan: AwsStackPlan, ids: Ids, actions: { readonly [K in keyof typeof REPORT_ACTIONS]: readonly string[] }): unknown[] {
  const kinds = [
    ["Queues", actions.sqs, plan.queues.map((queue) => getAtt(ids.queueId(queue.arn), "Arn"))],
    ["Topics", actions.sns, plan.topics.map((topic) => ref(ids.topicId(topic.arn)))],
    ["Streams", actions.kinesis, plan.streams.map((stream) => getAtt(ids.streamId(stream.arn), "Arn"))],
    ["Tables", actions.dynamodb, tableResources(plan.tables, ids)],
  ] as const;
  return kinds.flatMap(([sid, action, resource]) => (resource.length === 0 ? [] : [{ Sid: sid, Effect: "Allow", Action: [...action], Resource: resource }]));
}

function tableResources(tables: readonly PlannedTable[], ids: Ids): unknown[] {
  return tables.flatMap((table) => {
    const indexed = table.definition.GlobalSecondaryIndexes !== undefined || table.definition.LocalSecondaryIndexes !== undefined;
    const arn = getAtt(ids.tableId(table), "Arn");
    return indexed ? [arn, sub(`${v(`${ids.tableId(table)}.Arn`)}/index/*`)] : [arn];
  });
}

/** The stack must live where the settings' ARNs point: the function addresses its resources by those ARNs. */
function rules(plan: AwsStackPlan): Record<string, unknown> {
  const assertions: unknown[] = [];
  for (const region of plan.regions) {
    assertions.push({
      Assert: { "Fn::Equals": [ref("AWS::Region"), region] },
      AssertDescription: `the settings name resources in region ${region}: deploy the stack there`,
    });
  }
  for (const account of plan.accounts) {
    assertions.push({
      Assert: { "Fn::Equals": [ref("AWS::AccountId"), account] },
      AssertDescription: `the settings name resources in account ${account}: deploy the stack there`,
    });
  }
  return { SettingsLocation: { Assertions: assertions } };
}

/** What the stack leaves out, and why, for the reader of the template. */
function metadata(plan: AwsStackPlan): Record<string, unknown> {
  const notes: Record<string, unknown> = {
    GeneratedBy: "switchyard template",
    DeadLetterQueues:
      "each queue's -dead-letters queue is a plain queue, as resources create makes it: the handler moves a message there itself, with the reason, after max_receive_count deliveries; an SQS redrive policy would also count a timer's holds as receives and dead-letter long timers",
  };
  if (plan.existing.length > 0) {
    notes.NotCreated = plan.existing.map((backend) => ({
      Uri: backend.uri,
      UsedBy: backend.keys.join(", "),
      ...(backend.endpoint === undefined ? {} : { Endpoint: backend.endpoint }),
      Why: backend.note,
    }));
  }
  if (plan.metrics.length === 0) notes.Alarms = "none: the settings have no cloudwatch: or cloudwatch-emf: metrics role, so the fatal and dispatch counters reach no CloudWatch metric";
  return { Switchyard: notes };
}

/** The template as YAML, keys in the order built. */
export function templateYaml(template: CloudFormationTemplate): string {
  // YAML 1.1 rules, as CloudFormation reads it: strings such as 2010-09-09 or "on" stay quoted strings.
  return stringify(template, { version: "1.1", lineWidth: 0, aliasDuplicateObjects: false });
}

/** What {@link generateTemplate} reads. */
export interface GenerateTemplateOptions {
  /** The definitions file (YAML or a definition module). */
  readonly definitions: string;
  /** The settings file the function is deployed with. */
  readonly settings: string;
}

/**
 * The CloudFormation template (YAML) for the definitions and settings files; the function finds
 * both at the root of its bundle, under their file names.
 *
 * @example
 * ```ts
 * const yaml = await generateTemplate({ definitions: "fsm.yaml", settings: "aws.settings.yaml" });
 * ```
 */
export async function generateTemplate(options: GenerateTemplateOptions): Promise<string> {
  const settings = loadSettings({ file: options.settings });
  const plan = planAwsStack(settings);
  const definitions = await loadDefinitionFile(options.definitions);
  return templateYaml(
    buildTemplate({ plan, definitions, settingsFile: path.basename(options.settings), definitionsFile: path.basename(options.definitions) }),
  );
}
