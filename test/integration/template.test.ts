/**
 * `switchyard template` as a user runs it: the stack for three presets (SQS + DynamoDB, Kinesis +
 * DynamoDB, SQS + an ElastiCache cache), its structure, cfn-lint on each file, and a deploy of each
 * into moto's CloudFormation (moto_server on a free loopback port), after which the queues, streams
 * and tables exist and `switchyard resources create` finds nothing to create (but the cluster, which
 * the stack leaves out). The committed
 * examples/aws-order/stack.yaml must be what the command generates.
 *
 * The stack's tables are compared with a family `resources create` makes on the same moto: the
 * same keys, indexes and stream. moto 5.2 implements neither AWS::ApiGatewayV2::* nor
 * AWS::CloudWatch::Alarm in CloudFormation (it skips them, and a GetAtt on one fails the request):
 * the deploy leaves out those resources and what refers to them; cfn-lint checks them. Its
 * AWS::DynamoDB::Table ignores TimeToLiveSpecification, so the TTL attribute is compared as the
 * template declares it. cfn-lint and moto_server absent: the cases skip with a
 * printed reason, and fail with CI set.
 */
import { spawnSync } from "node:child_process";
import { randomUUID } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import {
  CloudFormationClient,
  CreateStackCommand,
  DescribeStacksCommand,
  ListStackResourcesCommand,
} from "@aws-sdk/client-cloudformation";
import { DescribeTableCommand, DescribeTimeToLiveCommand, DynamoDBClient, ListTablesCommand } from "@aws-sdk/client-dynamodb";
import { ListTopicsCommand, SNSClient } from "@aws-sdk/client-sns";
import { ListQueuesCommand, SQSClient } from "@aws-sdk/client-sqs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parse } from "yaml";
import { HTTP_ROUTE_KEYS } from "../../src/lambda/http.js";
import { logicalId } from "../../src/lambda/template.js";
import { ROOT, runCli } from "../support/cli.js";
import { startMotoServer, tool } from "../support/tools.js";

const REGION = "us-east-1";
/** moto's default account: the stack's Rules assert that the settings' ARNs name it. */
const ACCOUNT = "123456789012";
const CFN_LINT = tool("cfn-lint", "CFN_LINT");
const MOTO_SERVER = tool("moto_server", "MOTO_SERVER");



type Template = {
  Parameters: Record<string, { Default?: unknown }>;
  Resources: Record<string, { Type: string; Properties: Record<string, unknown>; DependsOn?: unknown }>;
  Outputs: Record<string, unknown>;
  Metadata: { Switchyard: Record<string, unknown> };
  Rules?: unknown;
};

const dir = mkdtempSync(path.join(tmpdir(), "switchyard-template-"));
const FSM = path.join(ROOT, "examples/aws-order/fsm.yaml");

/** Names unique per run, so stacks and resources never collide on a shared moto. */
const run = randomUUID().slice(0, 6);
const PRESETS = {
  "sqs-dynamodb": {
    stream: `arn:aws:sqs:${REGION}:${ACCOUNT}:sd${run}-stream`,
    retry: `arn:aws:dynamodb:${REGION}:${ACCOUNT}:table/sd${run}`,
    cache: `arn:aws:dynamodb:${REGION}:${ACCOUNT}:table/sd${run}`,
    checkpoint: `arn:aws:dynamodb:${REGION}:${ACCOUNT}:table/sd${run}`,
    environment: `arn:aws:dynamodb:${REGION}:${ACCOUNT}:table/sd${run}`,
    metrics: "cloudwatch-emf:Switchyard?dimensions=machine_name",
    journal: `arn:aws:dynamodb:${REGION}:${ACCOUNT}:table/sd${run}`,
  },
  "kinesis-dynamodb": {
    stream: `arn:aws:kinesis:${REGION}:${ACCOUNT}:stream/kd${run}`,
    retry: `arn:aws:dynamodb:${REGION}:${ACCOUNT}:table/kd${run}`,
    cache: `arn:aws:dynamodb:${REGION}:${ACCOUNT}:table/kd${run}`,
    checkpoint: `arn:aws:dynamodb:${REGION}:${ACCOUNT}:table/kd${run}`,
    environment: false,
    metrics: "cloudwatch:Orders",
    journal: `arn:aws:dynamodb:${REGION}:${ACCOUNT}:table/kd${run}`,
  },
  "sns-dynamodb": {
    stream: `arn:aws:sns:${REGION}:${ACCOUNT}:sn${run}`,
    retry: `arn:aws:dynamodb:${REGION}:${ACCOUNT}:table/sn${run}`,
    cache: `arn:aws:dynamodb:${REGION}:${ACCOUNT}:table/sn${run}`,
    checkpoint: `arn:aws:dynamodb:${REGION}:${ACCOUNT}:table/sn${run}`,
    environment: false,
    metrics: "cloudwatch-emf:Switchyard",
    journal: `arn:aws:dynamodb:${REGION}:${ACCOUNT}:table/sn${run}`,
    // On Lambda the function subscribes to the topic itself: no consumer queue.
    endpoints: { [`arn:aws:sns:${REGION}:${ACCOUNT}:sn${run}#queue`]: "lambda" },
  },
  "sqs-elasticache": {
    stream: `arn:aws:sqs:${REGION}:${ACCOUNT}:se${run}-stream`,
    retry: `arn:aws:sqs:${REGION}:${ACCOUNT}:se${run}-stream`,
    cache: `arn:aws:elasticache:${REGION}:${ACCOUNT}:replicationgroup:se${run}`,
    checkpoint: false,
    environment: false,
    metrics: "cloudwatch-emf:Switchyard",
    journal: false,
    endpoints: { [`arn:aws:elasticache:${REGION}:${ACCOUNT}:replicationgroup:se${run}`]: "redis://orders.abc123.use1.cache.amazonaws.com:6379" },
  },
} as const;
type Preset = keyof typeof PRESETS;

function settingsFile(preset: Preset, extra: Record<string, unknown> = {}): string {
  const file = path.join(dir, `${preset}${Object.keys(extra).length > 0 ? "-local" : ""}.settings.json`);
  writeFileSync(file, JSON.stringify({ ...PRESETS[preset], ...extra }, null, 2));
  return file;
}

const generated = new Map<Preset, { file: string; text: string; template: Template }>();

beforeAll(async () => {
  for (const preset of Object.keys(PRESETS) as Preset[]) {
    const file = path.join(dir, `${preset}.stack.yaml`);
    const result = await runCli(["template", "-d", FSM, "-s", settingsFile(preset), "-o", file], { cwd: dir });
    expect(result.stderr).toBe(`wrote ${file}\n`);
    expect(result.code).toBe(0);
    const text = readFileSync(file, "utf8");
    generated.set(preset, { file, text, template: parse(text) as Template });
  }
}, 60_000);

afterAll(() => rmSync(dir, { recursive: true, force: true }));

function byType(template: Template, type: string) {
  return Object.entries(template.Resources).filter(([, resource]) => resource.Type === type);
}

function statement(template: Template, sid: string) {
  const role = template.Resources.FunctionRole as unknown as { Properties: { Policies: Array<{ PolicyDocument: { Statement: Array<{ Sid: string; Action: string[]; Resource: unknown }> } }> } };
  return role.Properties.Policies[0]?.PolicyDocument.Statement.find((each) => each.Sid === sid);
}

describe("switchyard template: the stack's structure", () => {
  it("SQS + DynamoDB: the queue with its dead-letter queue, the table family, an SQS trigger, the timer, routes, alarms", () => {
    const { template } = generated.get("sqs-dynamodb") ?? expect.unreachable();
    expect(byType(template, "AWS::SQS::Queue").map(([, queue]) => queue.Properties.QueueName)).toEqual([`sd${run}-stream`, `sd${run}-stream-dead-letters`]);
    expect(byType(template, "AWS::DynamoDB::Table").map(([, table]) => table.Properties.TableName)).toEqual(
      ["stream", "retry", "cache", "checkpoint", "environment", "dead-letters", "leases", "instances", "journal"].map((kind) => `sd${run}-${kind}`),
    );
    const [[, trigger] = ["", undefined]] = byType(template, "AWS::Lambda::EventSourceMapping");
    expect(byType(template, "AWS::Lambda::EventSourceMapping")).toHaveLength(1);
    expect(trigger?.Properties).toMatchObject({ FunctionResponseTypes: ["ReportBatchItemFailures"], EventSourceArn: { "Fn::GetAtt": ["QueueSd" + run + "Stream", "Arn"] } });
    expect(template.Resources.TimerRule?.Properties).toMatchObject({ ScheduleExpression: { Ref: "TimerSchedule" } });
    expect(byType(template, "AWS::ApiGatewayV2::Route").map(([, route]) => route.Properties.RouteKey)).toContain("POST /instances/{id}/events/{event}");
    expect(byType(template, "AWS::ApiGatewayV2::Route").map(([, route]) => route.Properties.RouteKey)).toEqual(HTTP_ROUTE_KEYS);
    expect(byType(template, "AWS::CloudWatch::Alarm").map(([id]) => id)).toEqual(["AlarmFatalOrder", "AlarmDispatchOrder"]);
    expect(template.Resources.Function?.Properties).toMatchObject({ Runtime: { Ref: "Runtime" }, Code: { S3Bucket: { Ref: "CodeS3Bucket" }, S3Key: { Ref: "CodeS3Key" } } });
    expect(template.Resources.LogGroup?.Properties).toMatchObject({ RetentionInDays: { Ref: "LogRetentionDays" } });
    expect(template.Parameters.LogRetentionDays?.Default).toBe(14);
    expect(statement(template, "Queues")?.Action).toEqual([
      "sqs:ChangeMessageVisibility",
      "sqs:DeleteMessage",
      "sqs:GetQueueAttributes",
      "sqs:GetQueueUrl",
      "sqs:ReceiveMessage",
      "sqs:SendMessage",
    ]);
    expect(statement(template, "Journal")?.Action).toEqual(["dynamodb:BatchGetItem", "dynamodb:ConditionCheckItem", "dynamodb:Scan"]);
    // EMF lines need no API call; no DynamoDB stream is read with an SQS stream.
    expect(statement(template, "Metrics")).toBeUndefined();
    expect(statement(template, "TableStreams")).toBeUndefined();
    expect(Object.keys(template.Outputs)).toEqual(["FunctionArn", "ApiUrl", `QueueSd${run}StreamUrl`, `QueueSd${run}StreamDeadLettersUrl`]);
  });

  it("Kinesis + DynamoDB: the stream with an in-order trigger, PutMetricData scoped to the namespace, no queues", () => {
    const { template } = generated.get("kinesis-dynamodb") ?? expect.unreachable();
    expect(byType(template, "AWS::SQS::Queue")).toEqual([]);
    expect(byType(template, "AWS::Kinesis::Stream").map(([, stream]) => stream.Properties)).toEqual([{ Name: `kd${run}`, ShardCount: 1 }]);
    expect(byType(template, "AWS::Lambda::EventSourceMapping").map(([, mapping]) => mapping.Properties)).toEqual([
      {
        FunctionName: { Ref: "Function" },
        FunctionResponseTypes: ["ReportBatchItemFailures"],
        Enabled: true,
        EventSourceArn: { "Fn::GetAtt": [`StreamKd${run}`, "Arn"] },
        StartingPosition: "TRIM_HORIZON",
        BatchSize: { Ref: "StreamBatchSize" },
        MaximumBatchingWindowInSeconds: { Ref: "BatchingWindowSeconds" },
        ParallelizationFactor: 1,
      },
    ]);
    expect(statement(template, "Streams")?.Resource).toEqual([{ "Fn::GetAtt": [`StreamKd${run}`, "Arn"] }]);
    expect(statement(template, "Metrics")).toMatchObject({ Action: ["cloudwatch:PutMetricData"], Condition: { StringEquals: { "cloudwatch:namespace": ["Orders"] } } });
    expect(template.Parameters.SqsBatchSize).toBeUndefined();
    // The default dimensions include machine_name: one alarm per machine and counter.
    expect(template.Resources.AlarmFatalOrder?.Properties.Metrics).toEqual([
      expect.objectContaining({ Expression: `SELECT SUM(fatal) FROM "Orders" WHERE machine_name = 'order'` }),
    ]);
  });

  it("SQS + ElastiCache: the cluster is not created; the function gets VPC parameters and the template says why", () => {
    const { template } = generated.get("sqs-elasticache") ?? expect.unreachable();
    expect(byType(template, "AWS::DynamoDB::Table")).toEqual([]);
    expect(template.Resources.TimerRule).toBeUndefined();
    expect(template.Parameters.SubnetIds).toMatchObject({ Type: "List<AWS::EC2::Subnet::Id>" });
    expect(template.Resources.Function?.Properties.VpcConfig).toEqual({ SubnetIds: { Ref: "SubnetIds" }, SecurityGroupIds: { Ref: "SecurityGroupIds" } });
    expect(template.Metadata.Switchyard.NotCreated).toEqual([
      expect.objectContaining({
        Uri: PRESETS["sqs-elasticache"].cache,
        UsedBy: "cache.primary",
        Endpoint: "redis://orders.abc123.use1.cache.amazonaws.com:6379",
        Why: expect.stringMatching(/^ElastiCache runs inside a VPC/),
      }),
    ]);
    // Its URL: a parameter (the settings' entry by default), handed to the function.
    const parameter = `EndpointReplicationgroupSe${run}`;
    expect(template.Parameters[parameter]?.Default).toBe("redis://orders.abc123.use1.cache.amazonaws.com:6379");
    expect(template.Resources.Function?.Properties.Environment).toMatchObject({
      Variables: { SWITCHYARD_ENDPOINTS: { "Fn::Sub": JSON.stringify({ [PRESETS["sqs-elasticache"].cache]: `\${${parameter}}` }) } },
    });
    // The stream and retry roles share the queue: one trigger.
    expect(byType(template, "AWS::Lambda::EventSourceMapping")).toHaveLength(1);
  });

  it("SNS + DynamoDB: the topic with the function subscribed and allowed to be invoked by it, only the dead-letter queue", () => {
    const { template } = generated.get("sns-dynamodb") ?? expect.unreachable();
    expect(byType(template, "AWS::SNS::Topic").map(([, topic]) => topic.Properties)).toEqual([{ TopicName: `sn${run}` }]);
    expect(byType(template, "AWS::SQS::Queue").map(([, queue]) => queue.Properties.QueueName)).toEqual([`sn${run}-switchyard-dead-letters`]);
    expect(byType(template, "AWS::SNS::Subscription").map(([, subscription]) => subscription.Properties)).toEqual([
      { TopicArn: { Ref: `TopicSn${run}` }, Protocol: "lambda", Endpoint: { "Fn::GetAtt": ["Function", "Arn"] } },
    ]);
    expect(template.Resources[`TopicSn${run}Permission`]?.Properties).toMatchObject({ Principal: "sns.amazonaws.com", SourceArn: { Ref: `TopicSn${run}` } });
    expect(statement(template, "Topics")).toMatchObject({ Action: ["sns:Publish"], Resource: [{ Ref: `TopicSn${run}` }] });
    // SNS has no event source mapping; the retry table's timer is the only other trigger.
    expect(byType(template, "AWS::Lambda::EventSourceMapping")).toEqual([]);
    expect(template.Resources.TimerRule).toBeDefined();
  });

  it("is deterministic: the same inputs give the same text", async () => {
    const again = await runCli(["template", "-d", FSM, "-s", settingsFile("sqs-dynamodb")], { cwd: dir });
    expect(again.stdout).toBe(generated.get("sqs-dynamodb")?.text);
  });

  it("examples/aws-order/stack.yaml is what the command generates from the example's files", async () => {
    const example = path.join(ROOT, "examples/aws-order");
    const result = await runCli(["template", "-d", "fsm.yaml", "-s", "settings.yaml"], { cwd: example });
    expect(result.stderr).toBe("");
    // Regenerate with: cd examples/aws-order && npx switchyard template -d fsm.yaml -s settings.yaml -o stack.yaml
    expect(result.stdout).toBe(readFileSync(path.join(example, "stack.yaml"), "utf8"));
  });

  it("refuses settings a stack cannot deploy, in one line", async () => {
    const file = path.join(dir, "sqlite.settings.json");
    writeFileSync(file, JSON.stringify({ stream: PRESETS["sqs-dynamodb"].stream, retry: "sqlite:./a.db", cache: "sqlite:./a.db" }));
    const result = await runCli(["template", "-d", FSM, "-s", file], { cwd: dir });
    expect(result.code).not.toBe(0);
    expect(result.stderr).toMatch(/^switchyard: retry\.primary, cache\.primary names sqlite:\.\/a\.db: a SQLite file on Lambda lives in \/tmp/);
    expect(result.stderr.trim().split("\n")).toHaveLength(1);
  });
});

/** A CloudFormation substitution (`$` and the name in braces), as Fn::Sub takes it. */
const cfnVar = (name: string) => `$${"{"}${name}}`;
const JOBS_CLUSTER = `arn:${cfnVar("AWS::Partition")}:ecs:${cfnVar("AWS::Region")}:${cfnVar("AWS::AccountId")}:cluster/jobs`;

/** The stack of a machine with an ecs: task, for cfn-lint below. */
let ecsStack: string | undefined;

describe("switchyard template: a machine with an ecs: task", () => {
  it("grants RunTask, DescribeTasks, ListTasks and StopTask on the machines' clusters and passing task roles to ECS, and makes the tasks' report policy and role", async () => {
    const fsm = path.join(dir, "resize.yaml");
    writeFileSync(
      fsm,
      `machines:
  - name: resize
    states:
      - name: resizing
        initial: true
        task:
          ecs: {cluster: jobs, task_definition: "resize:3", container: resize, launch_type: FARGATE}
        transitions:
          - event: done
            target: finished
      - name: finished
        final: true
`,
    );
    const file = path.join(dir, "resize.stack.yaml");
    // The sqs-dynamodb preset under other names, so that its stack deploys beside that preset's.
    const settings = path.join(dir, "resize.settings.json");
    writeFileSync(settings, JSON.stringify(PRESETS["sqs-dynamodb"]).replaceAll(`sd${run}`, `ec${run}`));
    const result = await runCli(["template", "-d", fsm, "-s", settings, "-o", file], { cwd: dir });
    expect(result.code, result.stderr).toBe(0);
    const template = parse(readFileSync(file, "utf8")) as Template;
    expect(statement(template, "EcsTasks")).toEqual({
      Sid: "EcsTasks",
      Effect: "Allow",
      Action: ["ecs:DescribeTasks", "ecs:ListTasks", "ecs:RunTask", "ecs:StopTask"],
      Resource: "*",
      Condition: { ArnEquals: { "ecs:cluster": [{ "Fn::Sub": JOBS_CLUSTER }] } },
    });
    expect(statement(template, "PassTaskRoles")).toMatchObject({ Action: ["iam:PassRole"], Condition: { StringEquals: { "iam:PassedToService": "ecs-tasks.amazonaws.com" } } });
    // The tasks' own side: a policy with what a report and a heartbeat call on the stack's queue
    // and tables, and a role ECS tasks may assume that has it.
    const resources = template.Resources as Record<string, { Type: string; Properties: Record<string, unknown> }>;
    expect(resources.TaskReportPolicy?.Type).toBe("AWS::IAM::ManagedPolicy");
    const report = ((resources.TaskReportPolicy ?? expect.unreachable()).Properties.PolicyDocument as { Statement: Array<{ Sid: string; Action: string[] }> }).Statement;
    expect(report.map((each) => [each.Sid, each.Action])).toEqual([
      ["Queues", ["sqs:GetQueueUrl", "sqs:SendMessage"]],
      ["Tables", ["dynamodb:DescribeTable", "dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:Query"]],
      ["ReportRoutes", ["execute-api:Invoke"]],
    ]);
    expect(report[2]).toMatchObject({
      Resource: [
        { "Fn::Sub": `arn:${cfnVar("AWS::Partition")}:execute-api:${cfnVar("AWS::Region")}:${cfnVar("AWS::AccountId")}:${cfnVar("HttpApi")}/*/POST/tasks/report` },
        { "Fn::Sub": `arn:${cfnVar("AWS::Partition")}:execute-api:${cfnVar("AWS::Region")}:${cfnVar("AWS::AccountId")}:${cfnVar("HttpApi")}/*/POST/tasks/heartbeat` },
      ],
    });
    expect(resources.TaskRole?.Properties).toEqual({
      AssumeRolePolicyDocument: { Version: "2012-10-17", Statement: [{ Effect: "Allow", Principal: { Service: "ecs-tasks.amazonaws.com" }, Action: "sts:AssumeRole" }] },
      ManagedPolicyArns: [{ Ref: "TaskReportPolicy" }],
    });
    expect(Object.keys(template.Outputs as object)).toEqual(expect.arrayContaining(["TaskRoleArn", "TaskReportPolicyArn"]));
    // The scheduled timer stops tasks whose step was settled without them: a stack whose retries are
    // on SQS (no retry table to drain) still gets it when a machine has an ecs: task.
    const sqsRetries = path.join(dir, "resize-sqs.stack.yaml");
    expect((await runCli(["template", "-d", fsm, "-s", settingsFile("sqs-elasticache"), "-o", sqsRetries], { cwd: dir })).code).toBe(0);
    expect((parse(readFileSync(sqsRetries, "utf8")) as Template).Resources.TimerRule?.Properties).toMatchObject({ ScheduleExpression: { Ref: "TimerSchedule" } });
    // The order machine has no ecs: task: its stack grants no ECS action and has no task role.
    const order = (generated.get("sqs-dynamodb") ?? expect.unreachable()).template;
    expect(statement(order, "EcsTasks")).toBeUndefined();
    expect((order.Resources as Record<string, unknown>).TaskRole).toBeUndefined();
    ecsStack = file;
  }, 60_000);
});

describe.skipIf(CFN_LINT === undefined)("cfn-lint", () => {
  it("passes on the stack of a machine with an ecs: task", () => {
    const result = spawnSync(CFN_LINT as string, [ecsStack ?? expect.unreachable()], { encoding: "utf8" });
    expect(result.stdout + result.stderr).toBe("");
    expect(result.status).toBe(0);
  }, 60_000);

  for (const preset of Object.keys(PRESETS) as Preset[]) {
    it(`passes on the ${preset} stack with no errors or warnings`, () => {
      const { file } = generated.get(preset) ?? expect.unreachable();
      const result = spawnSync(CFN_LINT as string, [file], { encoding: "utf8" });
      expect(result.stdout + result.stderr).toBe("");
      expect(result.status).toBe(0);
    }, 60_000);
  }
});

describe.skipIf(MOTO_SERVER === undefined)("deployed into moto's CloudFormation", () => {
  let endpoint = "";
  let stop: (() => void) | undefined;

  beforeAll(async () => {
    const moto = await startMotoServer(MOTO_SERVER as string);
    stop = moto.stop;
    endpoint = moto.endpoint;
    // The function's code: moto's Lambda reads it from its own S3 (no signature checked).
    await fetch(`${endpoint}/code-${run}`, { method: "PUT" });
    await fetch(`${endpoint}/code-${run}/switchyard/function.zip`, { method: "PUT", body: zipWithIndex() });
  }, 30_000);

  afterAll(() => stop?.());

  /** Create the stack on moto and wait for it: CREATE_COMPLETE, every resource created; its resources by logical id. */
  async function deploy(template: Template, name: string, parameters: Array<{ ParameterKey: string; ParameterValue: string }> = []) {
    // One attempt: a retried CreateStack would only say the stack already exists, hiding why.
    const client = new CloudFormationClient({ endpoint, region: REGION, maxAttempts: 1 });
    const stackName = `${name}-${run}`;
    try {
      await client.send(
        new CreateStackCommand({
          StackName: stackName,
          TemplateBody: JSON.stringify(withoutUnsupported(template)),
          Parameters: [
            { ParameterKey: "CodeS3Bucket", ParameterValue: `code-${run}` },
            { ParameterKey: "FunctionName", ParameterValue: `fn-${name}-${run}` },
            ...parameters,
          ],
          Capabilities: ["CAPABILITY_IAM"],
        }),
      );
      let status = "";
      for (let attempt = 0; attempt < 120; attempt++) {
        const { Stacks } = await client.send(new DescribeStacksCommand({ StackName: stackName }));
        status = Stacks?.[0]?.StackStatus ?? "";
        if (!status.endsWith("IN_PROGRESS")) break;
        await new Promise((resolve) => setTimeout(resolve, 250));
      }
      expect(status).toBe("CREATE_COMPLETE");
      const { StackResourceSummaries = [] } = await client.send(new ListStackResourcesCommand({ StackName: stackName }));
      expect(StackResourceSummaries.filter((each) => each.ResourceStatus !== "CREATE_COMPLETE")).toEqual([]);
      return new Map(StackResourceSummaries.map((each) => [each.LogicalResourceId, each]));
    } finally {
      client.destroy();
    }
  }

  it("a stack with an ecs: task: its report policy and task role are created", async () => {
    const resources = await deploy(parse(readFileSync(ecsStack ?? expect.unreachable(), "utf8")) as Template, "resize");
    expect(resources.get("TaskReportPolicy")?.PhysicalResourceId).toMatch(/^arn:aws:iam::\d+:policy\//);
    expect(resources.get("TaskRole")?.ResourceType).toBe("AWS::IAM::Role");
  }, 120_000);

  for (const preset of ["sqs-dynamodb", "kinesis-dynamodb", "sns-dynamodb", "sqs-elasticache"] as const) {
    it(`${preset}: the stack reaches CREATE_COMPLETE, its resources exist, and resources create finds nothing to create`, async () => {
        const { template } = generated.get(preset) ?? expect.unreachable();
      await deploy(
        template,
        preset,
        preset === "sqs-elasticache"
          ? [
              { ParameterKey: "SubnetIds", ParameterValue: "subnet-0123456789abcdef0" },
              { ParameterKey: "SecurityGroupIds", ParameterValue: "sg-0123456789abcdef0" },
            ]
          : [],
      );

      const config = { endpoint, region: REGION };
      const prefix = { "sqs-dynamodb": `sd${run}`, "kinesis-dynamodb": `kd${run}`, "sns-dynamodb": `sn${run}`, "sqs-elasticache": `se${run}` }[preset];
      const tables = (await new DynamoDBClient(config).send(new ListTablesCommand({}))).TableNames ?? [];
      expect(tables.filter((table) => table.startsWith(`${prefix}-`))).toHaveLength(preset === "sqs-elasticache" ? 0 : 9);
      if (preset !== "kinesis-dynamodb") {
        const queues = (await new SQSClient(config).send(new ListQueuesCommand({ QueueNamePrefix: prefix }))).QueueUrls ?? [];
        const expected = preset === "sns-dynamodb" ? [`${prefix}-switchyard-dead-letters`] : [`${prefix}-stream`, `${prefix}-stream-dead-letters`];
        expect(queues.map((url) => url.split("/").pop()).sort()).toEqual(expected);
      }
      if (preset === "sns-dynamodb") {
        const topics = (await new SNSClient(config).send(new ListTopicsCommand({}))).Topics ?? [];
        expect(topics.map((topic) => topic.TopicArn)).toContain(PRESETS[preset].stream);
      }
      // The Kinesis stream: resources create below finds it ("exists stream"), through the backend's own client.

      const local = settingsFile(preset, { endpoints: { ...(PRESETS[preset] as { endpoints?: Record<string, string> }).endpoints, sqs: endpoint, sns: endpoint, dynamodb: endpoint, kinesis: endpoint, monitoring: endpoint } });
      const created = await runCli(["resources", "create", "-s", local], {
        cwd: dir,
        // The SDK's notice that it will need Node.js 22 is no failure.
        env: { AWS_ACCESS_KEY_ID: "test", AWS_SECRET_ACCESS_KEY: "test", NODE_NO_WARNINGS: "1" },
      });
      const lines = created.stdout.trim().split("\n");
      // (With the function subscribed to the topic, resources create says there is no consumer queue to make.)
      expect(lines.filter((line) => !/: (exists .*|nothing to create|no consumer queue: the Lambda function subscribes to .* itself)$/.test(line))).toEqual([]);
      if (preset === "sns-dynamodb") expect(lines).toContain(`${PRESETS[preset].stream}: exists topic ${PRESETS[preset].stream}`);
      if (preset === "kinesis-dynamodb") expect(lines).toContain(`${PRESETS[preset].stream}: exists stream ${PRESETS[preset].stream}`);
      if (preset === "sqs-elasticache") {
        // The moto deploy has no subnets to check the function's VpcConfig against: the made-up ids pass.
        // The queues exist; the cluster is not the stack's to create, and no server answers at its made-up URL.
        expect(lines).toEqual([`${PRESETS[preset].stream}: exists queue ${PRESETS[preset].stream}`, `${PRESETS[preset].stream}: exists queue ${PRESETS[preset].stream}-dead-letters`]);
        expect(created.stderr).toMatch(new RegExp(`^switchyard: cannot create the resources of ${PRESETS[preset].cache}: cannot reach Redis`, "m"));
        expect(created.code).toBe(1);
      } else {
        expect(created.stderr).toBe("");
        expect(created.code).toBe(0);
      }
    }, 120_000);
  }

  it("the stack's tables have the shapes resources create gives them: keys, indexes, stream, TTL", async () => {
    // Another family, made by resources create on the same moto, beside the one the stack made.
    const made = `rc${run}`;
    const file = path.join(dir, "rc.settings.json");
    const arn = `arn:aws:dynamodb:${REGION}:${ACCOUNT}:table/${made}`;
    writeFileSync(file, JSON.stringify({ stream: arn, retry: arn, cache: arn, checkpoint: false, metrics: false, environment: false, journal: false, endpoints: { dynamodb: endpoint } }));
    const created = await runCli(["resources", "create", "-s", file], { cwd: dir, env: { AWS_ACCESS_KEY_ID: "test", AWS_SECRET_ACCESS_KEY: "test", NODE_NO_WARNINGS: "1" } });
    expect(created.code, created.stderr).toBe(0);
    const client = new DynamoDBClient({ endpoint, region: REGION });
    const { template } = generated.get("sqs-dynamodb") ?? expect.unreachable();
    for (const kind of ["stream", "retry", "cache", "checkpoint", "environment", "dead-letters", "leases", "instances", "journal"]) {
      const [{ Ttl: _, ...stack }, { Ttl, ...provisioned }] = await Promise.all([shape(client, `sd${run}-${kind}`), shape(client, `${made}-${kind}`)]);
      expect(stack, kind).toEqual(provisioned);
      // moto's CloudFormation ignores a table's TimeToLiveSpecification: the template's is compared instead.
      const declared = template.Resources[logicalIdOf(`sd${run}-${kind}`)]?.Properties.TimeToLiveSpecification as { AttributeName: string } | undefined;
      expect(declared?.AttributeName, kind).toBe(Ttl);
    }
    client.destroy();
  }, 60_000);
});

/** The template's logical id of table `name`. */
function logicalIdOf(name: string): string {
  return logicalId("Table", name);
}

/** What a table's definition is made of, without names, times and counts. */
async function shape(client: DynamoDBClient, name: string) {
  const { Table } = await client.send(new DescribeTableCommand({ TableName: name }));
  const { TimeToLiveDescription } = await client.send(new DescribeTimeToLiveCommand({ TableName: name }));
  const index = (each: { IndexName?: string; KeySchema?: unknown; Projection?: unknown }) => ({ IndexName: each.IndexName, KeySchema: each.KeySchema, Projection: each.Projection });
  const byName = (a: { IndexName?: string }, b: { IndexName?: string }) => String(a.IndexName).localeCompare(String(b.IndexName));
  return {
    AttributeDefinitions: [...(Table?.AttributeDefinitions ?? [])].sort((a, b) => String(a.AttributeName).localeCompare(String(b.AttributeName))),
    KeySchema: Table?.KeySchema,
    GlobalSecondaryIndexes: (Table?.GlobalSecondaryIndexes ?? []).map(index).sort(byName),
    LocalSecondaryIndexes: (Table?.LocalSecondaryIndexes ?? []).map(index).sort(byName),
    Stream: Table?.StreamSpecification?.StreamEnabled === true ? Table.StreamSpecification.StreamViewType : undefined,
    BillingMode: Table?.BillingModeSummary?.BillingMode,
    Ttl: TimeToLiveDescription?.TimeToLiveStatus === "ENABLED" ? TimeToLiveDescription.AttributeName : undefined,
  };
}

/** The template without what moto's CloudFormation does not implement (see the file comment). */
function withoutUnsupported(template: Template): Template {
  const copy = structuredClone(template);
  for (const [id, resource] of Object.entries(copy.Resources)) {
    if (/^AWS::(ApiGatewayV2|CloudWatch)::/.test(resource.Type) || id === "HttpApiPermission") delete copy.Resources[id];
  }
  delete copy.Outputs.ApiUrl;
  // The task policy's statement on the task routes names the HTTP API, left out above.
  const policy = copy.Resources.TaskReportPolicy as unknown as { Properties: { PolicyDocument: { Statement: Array<{ Sid: string }> } } } | undefined;
  if (policy !== undefined) policy.Properties.PolicyDocument.Statement = policy.Properties.PolicyDocument.Statement.filter((each) => each.Sid !== "ReportRoutes");
  return copy;
}


/** A zip (stored, no compression) with one index.mjs, built by hand: no zip tool needed. */
function zipWithIndex(): Buffer {
  const name = Buffer.from("index.mjs");
  const data = Buffer.from("export const handler = async () => ({});\n");
  const crc = crc32(data);
  const local = Buffer.alloc(30);
  local.writeUInt32LE(0x04034b50, 0);
  local.writeUInt16LE(20, 4);
  local.writeUInt32LE(crc, 14);
  local.writeUInt32LE(data.length, 18);
  local.writeUInt32LE(data.length, 22);
  local.writeUInt16LE(name.length, 26);
  const central = Buffer.alloc(46);
  central.writeUInt32LE(0x02014b50, 0);
  central.writeUInt16LE(20, 4);
  central.writeUInt16LE(20, 6);
  central.writeUInt32LE(crc, 16);
  central.writeUInt32LE(data.length, 20);
  central.writeUInt32LE(data.length, 24);
  central.writeUInt16LE(name.length, 28);
  const centralOffset = local.length + name.length + data.length;
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(1, 8);
  end.writeUInt16LE(1, 10);
  end.writeUInt32LE(central.length + name.length, 12);
  end.writeUInt32LE(centralOffset, 16);
  return Buffer.concat([local, name, data, central, name, end]);
}

function crc32(data: Buffer): number {
  let crc = 0xffffffff;
  for (const byte of data) {
    crc ^= byte;
    for (let bit = 0; bit < 8; bit++) crc = crc & 1 ? (crc >>> 1) ^ 0xedb88320 : crc >>> 1;
  }
  return (crc ^ 0xffffffff) >>> 0;
}
