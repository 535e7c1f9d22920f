/**
 * The protocol suite on AWS transports, against in-process emulators: a Kinesis primary stream with
 * a DynamoDB secondary, SQS primary retries with DynamoDB secondary, DynamoDB leases on two
 * tables, DynamoDB checkpoints. Each test gets its own queues, streams and tables, created the way
 * `switchyard resources create` creates them.
 */
import { createHash } from "node:crypto";
import { afterAll, beforeAll } from "vitest";
import { provisionAll } from "../../src/settings/provision.js";
import { Switchyard } from "../../src/client/switchyard.js";
import { type RunningEmulator, startFauxqs, startKinesalite } from "../support/aws-emulators.js";
import { type RunningDynalite, startDynalite } from "../support/dynalite.js";
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

describeProtocol({
  name: "aws: kinesis + dynamodb stream, sqs + dynamodb retry, dynamodb cache",
  settings: (dir) => {
    // Named after the test's folder: a scenario that reopens its stores gets the same resources.
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
    };
  },
  prepare: async (config, dir) => {
    await provisionAll(Switchyard.settings(config, dir));
  },
});
