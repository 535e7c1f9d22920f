/** `switchyard cost`: run a workload through dev-lambda, count the AWS calls, price a million transitions. */
import type { Command } from "commander";
import { Switchyard } from "../../client/switchyard.js";
import { loadDefinitionFile } from "../../definition/load.js";
import { ApiCallCounter, type CostReport, DEFAULT_ASSUMPTIONS, measureCost, priceCost } from "../../lambda/cost.js";
import { loadPrices } from "../../lambda/prices.js";
import { silentLogger } from "../../logger.js";
import { table } from "../format.js";
import { definitionsOption, examples, parseContext, positiveInt, settingsOption } from "../common.js";
import { Terminal } from "../terminal.js";

interface CostFlags {
  definitions: string;
  settings?: string;
  machine?: string;
  context?: Record<string, unknown>;
  transitions: number;
  memory: number;
  region: string;
  prices?: string;
  throughput: number;
  batchSize: number;
  json?: boolean;
}

/** `switchyard cost -d fsm.yaml --settings s.yaml`. */
export function costCommand(program: Command): void {
  const command = program
    .command("cost")
    .description(
      "run instances through dev-lambda against the AWS endpoints of the settings (emulators), count every AWS call by service and operation, and price a million transitions beside Step Functions",
    )
    .addOption(definitionsOption())
    .addOption(settingsOption())
    .option("--machine <name>", "the machine to start (default: the first)")
    .option("--context <json>", "the start context of each instance", parseContext)
    .option("--transitions <n>", "run at least this many transitions", positiveInt("--transitions"), 10_000)
    .option("--memory <mb>", "Lambda memory size for GB-seconds", positiveInt("--memory"), DEFAULT_ASSUMPTIONS.memoryMb)
    .option("--region <region>", "the price table's region", "us-east-1")
    .option("--prices <file>", "JSON prices replacing the built-in ones ({\"prices\": {\"sqsRequest\": {\"usd\": 4e-7}}})")
    .option("--throughput <n>", "transitions per second that hourly costs (shards, cache nodes) are spread over", positiveInt("--throughput"), DEFAULT_ASSUMPTIONS.throughput)
    .option("--batch-size <n>", "records per invocation (the event source mapping's BatchSize)", positiveInt("--batch-size"), 10)
    .option("--json", "print one JSON object")
    .action(async (flags: CostFlags) => {
      const prices = loadPrices(flags.region, flags.prices);
      const terminal = new Terminal();
      const counter = new ApiCallCounter();
      const sy = await Switchyard.open({ definitions: await loadDefinitionFile(flags.definitions), settings: flags.settings, logger: silentLogger, apiCalls: counter });
      try {
        const progress = flags.json ? undefined : (line: string) => terminal.line(`cost: ${line}`);
        const measurement = await measureCost({ switchyard: sy, counter, transitions: flags.transitions, machine: flags.machine, context: flags.context, batchSize: flags.batchSize, progress });
        const report = priceCost(measurement, prices, { ...DEFAULT_ASSUMPTIONS, memoryMb: flags.memory, throughput: flags.throughput }, flags.settings ?? "settings");
        process.stdout.write(flags.json ? `${JSON.stringify(report, null, 2)}\n` : `${formatCostReport(report)}\n`);
      } finally {
        await sy.close();
      }
    });
  examples(command, [
    "cost -d fsm.yaml -s aws.settings.yaml",
    "cost -d fsm.yaml -s aws.settings.yaml --transitions 1000 --memory 1024 --json",
    "cost -d fsm.yaml -s aws.settings.yaml --prices eu-west-1.prices.json --region eu-west-1",
  ]);
}

const usd = (value: number) => `$${value < 0.01 && value > 0 ? value.toFixed(4) : value.toFixed(2)}`;
const per = (value: number) => (value === 0 ? "0" : value >= 0.01 ? value.toFixed(2) : value.toPrecision(2));

/** A report as text: the calls per transition, the priced lines, Step Functions beside them. */
export function formatCostReport(report: CostReport): string {
  const calls = table(
    ["phase", "service", "operation", "calls/transition", "units/transition"],
    report.calls.map((c) => {
      const u = c.unitsPerTransition;
      const units = [
        u.wru > 0 ? `${per(u.wru)} WRU` : "",
        u.rru > 0 ? `${per(u.rru)} RRU` : "",
        u.sqsRequests > 0 ? `${per(u.sqsRequests)} req` : "",
        u.snsPublishes > 0 ? `${per(u.snsPublishes)} pub` : "",
        u.kinesisPutUnits > 0 ? `${per(u.kinesisPutUnits)} PUT units` : "",
      ].filter(Boolean);
      const phase = !c.billed ? `${c.phase} (free)` : c.phase === "poll" && c.operation === "DeleteMessage" ? "poll (as batches)" : c.phase;
      return [phase, c.service, c.operation, per(c.perTransition), units.join(", ")];
    }),
  );
  const lines = table(
    ["item", "per transition", "$ per million"],
    [
      ...report.lines.map((l) => [l.item, per(l.perTransition), usd(l.usdPerMillion)]),
      ["total", "", usd(report.usdPerMillion)],
      ["Step Functions Standard", "1 state transition", usd(report.stepFunctions.standard)],
      ["Step Functions Express", "per execution + duration", usd(report.stepFunctions.express)],
    ],
  );
  const a = report.assumptions;
  const out = [
    `${report.label}: ${report.transitions} transitions of ${report.instances} instance(s), ${report.invocations} invocation(s) (${report.msPerInvocation.toFixed(1)} ms each, indicative), ${report.region} prices, ${a.memoryMb} MB, hourly costs at ${a.throughput} transitions/s`,
    "",
    calls,
    "",
    lines,
  ];
  const top = report.dominant.slice(0, 3).map((d) => `${d.call} ${usd(d.usdPerMillion)}`);
  if (top.length > 0) out.push("", `dominant calls ($ per million transitions): ${top.join("; ")}`);
  return out.join("\n");
}
