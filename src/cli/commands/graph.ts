import { writeFileSync } from "node:fs";
import { type Command, Option } from "commander";
import { toDot, toMermaid } from "../../definition/graph.js";
import { loadDefinitionFile } from "../../definition/load.js";
import { UsageError } from "../../errors.js";
import { checkSettings, DEFINITIONS_HELP, settingsOption } from "../common.js";

/** `switchyard graph <file>`: a machine as a Graphviz DOT or Mermaid diagram. */
export function graphCommand(program: Command): void {
  program
    .command("graph")
    .description("draw a machine as a Graphviz DOT or Mermaid state diagram")
    .argument("<file>", DEFINITIONS_HELP)
    .option("-m, --machine <name>", "the machine to draw (required when the file defines several)")
    .addOption(new Option("-f, --format <format>", "output format").choices(["dot", "mermaid"]).default("mermaid"))
    .option("-o, --output <file>", "write to a file instead of stdout")
    .addOption(settingsOption().argParser(checkSettings))
    .action(async (file: string, flags: { machine?: string; format: "dot" | "mermaid"; output?: string }) => {
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
}
