/**
 * The protocol suite on AWS transports, against in-process emulators: a Kinesis primary stream with
 * a DynamoDB secondary, SQS primary retries with DynamoDB secondary, DynamoDB leases on two
 * tables, DynamoDB checkpoints, over the separate ports; and again on the DynamoDB cache's fused
 * path with an SQS stream and the journal in DynamoDB. Each test gets its own queues, streams and
 * tables, created the way `switchyard resources create` creates them.
 */
import { createHash } from "node:crypto";
import { afterAll, beforeAll } from "vitest";
import { provisionAll } from "../../src/settings/provision.js";
import type { SettingsConfig } from "../../src/settings/settings.js";
import { Switchyard } from "../../src/client/switchyard.js";
import { type RunningEmulator, startFauxqs, startKinesalite } from "../support/aws-emulators.js";
import { type RunningDynalite, startDynalite } from "../support/dynalite.js";
import { describeFusedProtocol } from "./protocol-fused.js";
import { describeProtocol } from "./protocol.contract.js";

const REGION = "us-east-1";
const ACCOUNT = "000000000000";
let sqs: RunningEmulator;
let kinesis: RunningEmulator;
let dynamodb: RunningDynalite;

beforeAll(async () => {
  [sqs, kinesis, dynamodb] = await Promise.all([startFauxqs(), startKinesalite(), startDynalite()]);
});
afterAll(async () => {
  await Promise.all([sqs?.close(), kinesis?.close(), dynamodb?.close()]);
});

/** Named after the test's folder: a scenario that reopens its stores gets the same resources. */
function awsSettings(dir: string, overrides: Partial<SettingsConfig>): SettingsConfig {
  const id = `p${createHash("sha256").update(dir).digest("hex").slice(0, 8)}`;
  const table = (name: string) => `arn:aws:dynamodb:${REGION}:${ACCOUNT}:table/${id}-${name}`;
  return {
    stream: { primary: `arn:aws:kinesis:${REGION}:${ACCOUNT}:stream/${id}`, secondary: table("a") },
    retry: { primary: `arn:aws:sqs:${REGION}:${ACCOUNT}:${id}-retry`, secondary: table("b") },
    cache: { primary: table("a"), secondary: table("b") },
    checkpoint: table("a"),
    metrics: `sqlite:${dir}/journal.db`,
    journal: `sqlite:${dir}/journal.db`,
    endpoints: { sqs: sqs.endpoint, sns: sqs.endpoint, kinesis: kinesis.endpoint, dynamodb: dynamodb.endpoint },
    ...overrides,
  };
}

const prepare = async (config: SettingsConfig, dir: string) => {
  await provisionAll(Switchyard.settings(config, dir));
};

// The separate ports, one call per role.
describeProtocol({
  name: "aws: kinesis + dynamodb stream, sqs + dynamodb retry, dynamodb cache, separate ports",
  settings: (dir) => awsSettings(dir, { fused_transitions: false }),
  prepare,
});

// The DynamoDB cache's fused path around the other roles' ports, with the journal in the same
// table family (its gate reads the record's abort fields alone) and an SQS stream.
describeFusedProtocol(
  {
    name: "aws: sqs + dynamodb stream, sqs + dynamodb retry, dynamodb cache and journal",
    settings: (dir) => {
      const id = `p${createHash("sha256").update(dir).digest("hex").slice(0, 8)}`;
      const family = `arn:aws:dynamodb:${REGION}:${ACCOUNT}:table/${id}-a`;
      return awsSettings(dir, { stream: { primary: `arn:aws:sqs:${REGION}:${ACCOUNT}:${id}-stream`, secondary: family }, journal: family });
    },
    prepare,
  },
  { checkpoint: true, journal: true },
);
