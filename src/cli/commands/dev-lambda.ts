/** `switchyard dev-lambda`: run the Lambda handler locally, fed by polling the AWS transports. */
import path from "node:path";
import { pathToFileURL } from "node:url";
import type { Command } from "commander";
import { Switchyard } from "../../client/switchyard.js";
import type { ActionExport } from "../../core/action.js";
import { ActionRegistry } from "../../definition/actions.js";
import { loadDefinitionFile } from "../../definition/load.js";
import { UsageError } from "../../errors.js";
import { DevLambda } from "../../lambda/dev-lambda.js";
import { createHandler } from "../../lambda/handler.js";
import { definitionsOption, examples, onStopSignals, positiveInt, positiveNumber, settingsOption } from "../common.js";
import { Terminal } from "../terminal.js";

interface DevLambdaFlags {
  definitions: string;
  settings?: string;
  actions?: string;
  once?: boolean;
  untilIdle?: boolean;
  batchSize: number;
  timerInterval: number;
  quiet?: boolean;
}

/** `switchyard dev-lambda`: poll SQS, Kinesis, SNS and DynamoDB and invoke the handler as Lambda would. */
export function devLambdaCommand(program: Command): void {
  const command = program
    .command("dev-lambda")
    .description("poll the SQS, Kinesis, SNS and DynamoDB transports of the settings and invoke the Lambda handler with the events Lambda would send, until SIGINT/SIGTERM")
    .addOption(definitionsOption())
    .addOption(settingsOption())
    .option("--actions <module>", "module whose actions are registered in code (an ActionRegistry or {reference: action} as default export, or named function exports)")
    .option("--once", "one poll of every source and one timer invocation, then exit")
    .option("--until-idle", "exit once nothing is received and nothing is pending")
    .option("--batch-size <n>", "records per invocation (the event source mapping's BatchSize)", positiveInt("--batch-size"), 10)
    .option("--timer-interval <seconds>", "seconds between scheduled-event invocations (the timer)", positiveNumber("--timer-interval"), 10)
    .option("-q, --quiet", "no progress output")
    .action(async (flags: DevLambdaFlags) => {
      const actions = flags.actions === undefined ? undefined : await loadActions(flags.actions);
      const terminal = new Terminal();
      const logger = terminal.logger();
      const sy = await Switchyard.open({ definitions: await loadDefinitionFile(flags.definitions, { actions }), settings: flags.settings, logger, tasks: "remote" });
      try {
        const handler = createHandler({ switchyard: sy, logger });
        const progress = flags.quiet ? undefined : (line: string) => terminal.line(`dev-lambda: ${line}`);
        const dev = new DevLambda(sy, handler, { batchSize: flags.batchSize, timerIntervalSeconds: flags.timerInterval, progress });
        const stopSignals = handleSignals(dev);
        try {
          const stats = await dev.run({ once: flags.once, untilIdle: flags.untilIdle });
          progress?.(
            `${stats.invocations} invocation(s), ${stats.records} record(s), ${stats.failedRecords} reported failed, ${stats.timerRuns} timer run(s) processing ${stats.timerProcessed} message(s)`,
          );
        } finally {
          stopSignals();
        }
      } finally {
        await sy.close();
      }
    });
  examples(command, [
    "dev-lambda -d fsm.yaml -s aws.settings.yaml",
    "dev-lambda -d fsm.yaml -s aws.settings.yaml --actions ./actions.js --until-idle",
    "dev-lambda -d fsm.yaml -s aws.settings.yaml --once --batch-size 1",
  ]);
}

/** Load a module of actions into a registry. */
async function loadActions(file: string): Promise<ActionRegistry> {
  let module: Record<string, unknown>;
  try {
    module = (await import(pathToFileURL(path.resolve(file)).href)) as Record<string, unknown>;
  } catch (error) {
    throw new UsageError(`cannot load --actions module ${file}: ${(error as Error).message.split("\n")[0]}; check the path`);
  }
  const given = module.default ?? module.actions;
  if (given instanceof ActionRegistry) return given;
  const registry = new ActionRegistry();
  const entries = typeof given === "object" && given !== null ? Object.entries(given) : Object.entries(module);
  for (const [name, value] of entries) if (typeof value === "function") registry.register(name, value as ActionExport);
  return registry;
}

/** First SIGINT/SIGTERM: finish the current invocation and exit; second: exit at once. */
function handleSignals(dev: DevLambda): () => void {
  return onStopSignals(
    dev,
    (signal) => `${signal}: finishing the current invocation; send it again to exit at once`,
    (signal) => `${signal} again: exiting now; unacknowledged records will be delivered again`,
  );
}
