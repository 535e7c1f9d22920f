import type { Command } from "commander";
import { validateDefinitionFile } from "../../definition/validate.js";
import { checkSettings, DEFINITIONS_HELP, examples, printJson, settingsOption } from "../common.js";

/** `switchyard validate <file>`: report every problem of a definition with file:line:column (file only for a module). */
export function validateCommand(program: Command): void {
  const command = program
    .command("validate")
    .description("check a definition file and report every problem with file:line:column")
    .argument("<file>", DEFINITIONS_HELP)
    .option("--json", "print the problems as a JSON array of {file, line, column, message}")
    .addOption(settingsOption().argParser(checkSettings))
    .action(async (file: string, flags: { json?: boolean }) => {
      const problems = await validateDefinitionFile(file);
      if (flags.json) {
        // A problem in a module's machines has a file but no line and column.
        printJson(problems.map((p) => ({ file: p.file, ...p.location, message: p.message })));
      } else if (problems.length === 0) {
        process.stdout.write(`${file}: ok\n`);
      } else {
        process.stderr.write(`${problems.map((p) => p.toString()).join("\n")}\n${problems.length} problem(s) in ${file}\n`);
      }
      if (problems.length > 0) process.exitCode = 1;
    });
  examples(command, ["validate fsm.yaml", "validate fsm.yaml --json"]);
}
