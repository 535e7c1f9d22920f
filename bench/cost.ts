/**
 * Cost per transition of the AWS presets: SQS + DynamoDB, SQS + ElastiCache (Redis), Kinesis +
 * DynamoDB. Starts the emulators in process (dynalite, kinesalite, fauxqs; Redis must listen on
 * 127.0.0.1:6379 for sqs-redis), provisions each preset's resources, runs bench/cost.yaml through
 * dev-lambda with every AWS call counted, and prints what a million transitions cost at us-east-1
 * prices, beside Step Functions. The figures are counts times prices; the GB-seconds are this
 * machine's wall time, indicative only.
 *
 *   npm run cost -- [--preset sqs-dynamodb|sqs-redis|kinesis-dynamodb|all] [--transitions 3000]
 *                   [--memory 512] [--throughput 100] [--prices FILE] [--separate] [--json]
 *
 * `--separate` sets `fused_transitions: false`: one call per port, to compare with the fused path.
 */
import { randomUUID } from "node:crypto";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { parseArgs } from "node:util";
import { formatCostReport } from "../src/cli/commands/cost.js";
import { Switchyard } from "../src/client/switchyard.js";
import { ApiCallCounter, type CostReport, DEFAULT_ASSUMPTIONS, measureCost, priceCost } from "../src/lambda/cost.js";
import { loadPrices } from "../src/lambda/prices.js";
import { silentLogger } from "../src/logger.js";
import { provisionAll } from "../src/settings/provision.js";
import { loadSettings } from "../src/settings/settings.js";
import { startFauxqs, startKinesalite } from "../test/support/aws-emulators.js";
import { startDynalite } from "../test/support/dynalite.js";

const PRESETS = ["sqs-dynamodb", "sqs-redis", "kinesis-dynamodb"] as const;
type Preset = (typeof PRESETS)[number];

const { values } = parseArgs({
  options: {
    preset: { type: "string", default: "all" },
    transitions: { type: "string", default: "3000" },
    memory: { type: "string", default: String(DEFAULT_ASSUMPTIONS.memoryMb) },
    throughput: { type: "string", default: String(DEFAULT_ASSUMPTIONS.throughput) },
    prices: { type: "string" },
    separate: { type: "boolean", default: false },
    json: { type: "boolean", default: false },
  },
});
const presets: readonly Preset[] = values.preset === "all" ? PRESETS : [values.preset as Preset];
if (!presets.every((p) => PRESETS.includes(p))) throw new Error(`--preset is one of ${PRESETS.join(", ")} or all`);

const REGION = "us-east-1";
const ACCOUNT = "000000000000";
const id = () => randomUUID().slice(0, 8);
const definitions = path.join(path.dirname(new URL(import.meta.url).pathname), "cost.yaml");
const dir = mkdtempSync(path.join(tmpdir(), "switchyard-cost-"));
const [fauxqs, kinesalite, dynalite] = await Promise.all([startFauxqs(), startKinesalite(), startDynalite()]);
const endpoints: Record<string, string> = { sqs: fauxqs.endpoint, sns: fauxqs.endpoint, kinesis: kinesalite.endpoint, dynamodb: dynalite.endpoint };

/** The settings of a preset: the stream, and the other roles (the journal with them). */
function settingsOf(preset: Preset): Record<string, unknown> {
  const sqs = `arn:aws:sqs:${REGION}:${ACCOUNT}:cost-${id()}`;
  const kinesis = `arn:aws:kinesis:${REGION}:${ACCOUNT}:stream/cost-${id()}`;
  const dynamodb = `arn:aws:dynamodb:${REGION}:${ACCOUNT}:table/cost-${id()}`;
  const redis = `arn:aws:elasticache:${REGION}:${ACCOUNT}:replicationgroup:cost-${id()}`;
  const common = { metrics: false, environment: false, visibility_timeout: 30, ...(values.separate ? { fused_transitions: false } : {}) };
  switch (preset) {
    case "sqs-dynamodb":
      return { ...common, stream: sqs, retry: dynamodb, cache: dynamodb, checkpoint: dynamodb, endpoints };
    case "kinesis-dynamodb":
      return { ...common, stream: kinesis, retry: dynamodb, cache: dynamodb, checkpoint: dynamodb, endpoints };
    case "sqs-redis":
      return { ...common, stream: sqs, retry: redis, cache: redis, checkpoint: false, journal: redis, endpoints: { ...endpoints, [redis]: `redis://127.0.0.1:6379?prefix=cost${id()}` } };
  }
}

const reports: CostReport[] = [];
try {
  const prices = loadPrices(REGION, values.prices);
  for (const preset of presets) {
    const file = path.join(dir, `${preset}.json`);
    writeFileSync(file, JSON.stringify(settingsOf(preset), null, 2));
    await provisionAll(loadSettings({ file }));
    const counter = new ApiCallCounter();
    const sy = await Switchyard.open({ definitions, settings: file, logger: silentLogger, apiCalls: counter, cwd: dir });
    try {
      const measurement = await measureCost({ switchyard: sy, counter, transitions: Number(values.transitions), logger: silentLogger });
      const report = priceCost(measurement, prices, { ...DEFAULT_ASSUMPTIONS, memoryMb: Number(values.memory), throughput: Number(values.throughput) }, preset);
      reports.push(report);
      if (!values.json) process.stdout.write(`${formatCostReport(report)}\n\n`);
    } finally {
      await sy.close();
    }
  }
  if (values.json) process.stdout.write(`${JSON.stringify(reports, null, 2)}\n`);
  else {
    const summary = reports.map((r) => `${r.label.padEnd(18)} $${r.usdPerMillion.toFixed(2).padStart(6)}`);
    const sfn = reports[0]?.stepFunctions;
    process.stdout.write(`per million transitions${values.separate ? " (separate ports)" : ""}:\n${summary.join("\n")}\n${"Step Functions Standard".padEnd(18)} $${sfn?.standard.toFixed(2)}\n${"Step Functions Express".padEnd(18)} $${sfn?.express.toFixed(2)}\n`);
  }
} finally {
  await Promise.all([fauxqs.close(), kinesalite.close(), dynalite.close()]);
  rmSync(dir, { recursive: true, force: true });
}
