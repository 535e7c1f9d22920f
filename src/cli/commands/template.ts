/** `switchyard template`: a CloudFormation stack for the definitions and settings. */
import { type Command, Option } from "commander";
import { generateTemplate } from "../../lambda/template.js";
import { definitionsOption, examples, writeOutput } from "../common.js";

interface TemplateFlags {
  definitions: string;
  settings: string;
  format: "cloudformation";
  output?: string;
}

/** `switchyard template`: print (or write) the stack. */
export function templateCommand(program: Command): void {
  const command = program
    .command("template")
    .description(
      "generate a CloudFormation stack (YAML) for AWS Lambda: the queues, streams, topics and tables the settings name (as resources create makes them), the function with its triggers, timer, HTTP API, least-privilege role, alarms and log group",
    )
    .addOption(definitionsOption())
    .addOption(new Option("-s, --settings <file>", "the settings file the function is deployed with (every role on AWS)").makeOptionMandatory())
    .addOption(new Option("-f, --format <format>", "template format").choices(["cloudformation"]).default("cloudformation"))
    .option("-o, --output <file>", "write to a file instead of stdout")
    .action(async (flags: TemplateFlags) => {
      const text = await generateTemplate({ definitions: flags.definitions, settings: flags.settings });
      writeOutput(text, flags.output);
    });
  examples(command, ["template -d fsm.yaml -s aws.settings.yaml", "template -d fsm.yaml -s aws.settings.yaml -o stack.yaml"]);
}
