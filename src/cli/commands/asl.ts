/** `switchyard asl <machine>`: the machine as an Amazon States Language document for Step Functions. */
import type { Command } from "commander";
import { loadDefinitionFile } from "../../definition/load.js";
import { toAsl } from "../../lambda/asl.js";
import { checkSettings, definitionsOption, examples, settingsOption, writeOutput } from "../common.js";

interface AslFlags {
  definitions: string;
  settings?: string;
  lambdaArn: string;
  output?: string;
}

/** `switchyard asl`: print (or write) the ASL document of a machine. */
export function aslCommand(program: Command): void {
  const command = program
    .command("asl")
    .description("emit an Amazon States Language document that runs a machine on Step Functions, one Task per state invoking the deployed Lambda handler")
    .argument("<machine>", "machine name")
    .addOption(definitionsOption())
    .requiredOption("--lambda-arn <arn>", "ARN of the deployed Switchyard Lambda handler")
    .option("-o, --output <file>", "write to a file instead of stdout")
    .addOption(settingsOption().argParser(checkSettings))
    .action(async (machine: string, flags: AslFlags) => {
      const definitions = await loadDefinitionFile(flags.definitions);
      const text = `${JSON.stringify(toAsl(definitions.get(machine), { lambdaArn: flags.lambdaArn }), null, 2)}\n`;
      writeOutput(text, flags.output);
    });
  examples(command, [
    "asl order -d fsm.yaml --lambda-arn arn:aws:lambda:us-east-1:123456789012:function:switchyard",
    "asl order -d fsm.yaml --lambda-arn arn:aws:lambda:us-east-1:123456789012:function:switchyard -o order.asl.json",
  ]);
}
