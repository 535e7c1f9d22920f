/**
 * The IAM actions the stack grants (backends/aws/shapes.ts RUNTIME_ACTIONS) against the SDK
 * commands the AWS backends really send: every command a port sends at run time is granted, and
 * every granted action is sent by a port or needed by Lambda's event source mappings. Reads the
 * sources, so a new command in a backend fails here until the grant follows.
 */
import { readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { REPORT_ACTIONS, RUNTIME_ACTIONS } from "../../../src/backends/aws/shapes.js";
import { ROOT } from "../../support/cli.js";

/** Commands only `resources create` sends: the function never creates anything. */
const PROVISIONING = new Set([
  "sqs:CreateQueue",
  "sqs:SetQueueAttributes",
  "sns:CreateTopic",
  "sns:GetTopicAttributes",
  "sns:ListSubscriptionsByTopic",
  "sns:Subscribe",
  "kinesis:CreateStream",
  "dynamodb:CreateTable",
  "dynamodb:UpdateTimeToLive",
]);
/** Batch calls IAM authorizes by the actions of their entries. */
const AUTHORIZED_AS: Record<string, readonly string[]> = {
  "sqs:SendMessageBatch": ["sqs:SendMessage"],
  "sns:PublishBatch": ["sns:Publish"],
  "dynamodb:TransactWriteItems": ["dynamodb:ConditionCheckItem", "dynamodb:DeleteItem", "dynamodb:PutItem", "dynamodb:UpdateItem"],
};
/** Granted for Lambda's event source mappings, which read with the function's role. */
const FOR_EVENT_SOURCES = new Set(["kinesis:DescribeStream", ...RUNTIME_ACTIONS.dynamodbStreams, ...RUNTIME_ACTIONS.dynamodbListStreams]);

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) =>
    entry.isDirectory() ? sources(path.join(dir, entry.name)) : entry.name.endsWith(".ts") ? [path.join(dir, entry.name)] : [],
  );
}

/** `service:Operation` for every command a backend file imports as a value and constructs. */
function sentCommands(): Set<string> {
  const sent = new Set<string>();
  for (const file of sources(path.join(ROOT, "src/backends/aws"))) {
    const text = readFileSync(file, "utf8");
    for (const match of text.matchAll(/import\s*\{([^}]*)\}\s*from\s*"@aws-sdk\/client-([a-z]+)"/g)) {
      const service = match[2] as string;
      for (const name of (match[1] as string).split(",").map((each) => each.trim())) {
        if (name.startsWith("type ") || !name.endsWith("Command")) continue;
        if (new RegExp(`new ${name}\\(`).test(text)) sent.add(`${service}:${name.slice(0, -"Command".length)}`);
      }
    }
  }
  return sent;
}

describe("the function role's actions", () => {
  const sent = sentCommands();
  const granted = new Set<string>(Object.values(RUNTIME_ACTIONS).flat());

  it("grant every command the ports send at run time", () => {
    const needed = [...sent].filter((action) => !PROVISIONING.has(action)).flatMap((action) => AUTHORIZED_AS[action] ?? [action]);
    expect(needed.filter((action) => !granted.has(action))).toEqual([]);
  });

  it("grant nothing a port never sends, beyond what the event source mappings read with", () => {
    const needed = new Set([...sent].flatMap((action) => AUTHORIZED_AS[action] ?? [action]));
    expect([...granted].filter((action) => !needed.has(action) && !FOR_EVENT_SOURCES.has(action))).toEqual([]);
  });

  it("found the backends' commands at all", () => {
    expect([...sent]).toEqual(expect.arrayContaining(["sqs:SendMessage", "sns:Publish", "kinesis:PutRecords", "dynamodb:TransactWriteItems", "cloudwatch:PutMetricData"]));
  });
});

describe("the task role's actions", () => {
  it("are actions the ports send: a report opens the same backends as a worker", () => {
    const granted = new Set<string>(Object.values(RUNTIME_ACTIONS).flat());
    expect(Object.values(REPORT_ACTIONS).flat().filter((action) => !granted.has(action))).toEqual([]);
  });
});
