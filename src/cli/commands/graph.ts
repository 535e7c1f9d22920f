import { writeFileSync } from "node:fs";
import { type Command, Option } from "commander";
import { toDot, toMermaid } from "../../definition/graph.js";
import { loadDefinitionFile } from "../../definition/load.js";
import { UsageError } from "../../errors.js";
import { checkSettings, DEFINITIONS_HELP, examples, settingsOption } from "../common.js";

/** `switchyard graph <file>` (or `-d <file>`, as elsewhere): a machine as a Graphviz DOT or Mermaid diagram. */
export function graphCommand(program: Command): void {
  const command = program
    .command("graph")
    .description("draw a machine as a Graphviz DOT or Mermaid state diagram")
    .argument("[file]", DEFINITIONS_HELP)
    .option("-d, --definitions <file>", "the definition file given as the other commands take it, instead of the argument")
    .option("-m, --machine <name>", "the machine to draw (required when the file defines several)")
    .addOption(new Option("-f, --format <format>", "output format").choices(["dot", "mermaid"]).default("mermaid"))
    .option("-o, --output <file>", "write to a file instead of stdout")
    .addOption(settingsOption().argParser(checkSettings))
    .action(async (argument: string | undefined, flags: GraphFlags) => {
      const file = definitionFile(argument, flags.definitions);
      const definitions = await loadDefinitionFile(file);
      let name = flags.machine;
      if (name === undefined) {
        const names = [...definitions.machines.keys()];
        if (names.length !== 1) throw new UsageError(`${file} defines ${names.length} machines (${names.join(", ")}); choose one with --machine`);
        name = names[0] as string;
      }
      const machine = definitions.get(name);
      const text = flags.format === "dot" ? toDot(machine) : toMermaid(machine);
      if (flags.output) writeFileSync(flags.output, text.endsWith("\n") ? text : `${text}\n`);
      else process.stdout.write(text.endsWith("\n") ? text : `${text}\n`);
    });
  examples(command, ["graph fsm.yaml", "graph fsm.yaml --machine order --format dot -o order.dot", "graph -d machines.ts --machine order"]);
}

interface GraphFlags {
  definitions?: string;
  machine?: string;
  format: "dot" | "mermaid";
  output?: string;
}

/** The file to draw: the argument or `-d`, exactly one of them. */
function definitionFile(argument: string | undefined, option: string | undefined): string {
  const usage = "e.g. switchyard graph fsm.yaml, or switchyard graph -d machines.ts";
  if (argument !== undefined && option !== undefined && argument !== option) {
    throw new UsageError(`graph takes the definition file as an argument or as -d, not both (${argument}, ${option}); ${usage}`);
  }
  const file = argument ?? option;
  if (file === undefined) throw new UsageError(`graph needs a definition file; ${usage}`);
  return file;
}
