import type { Command } from "commander";
import { checkAgainst } from "../../definition/compare.js";
import { compileFile } from "../../definition/compile.js";
import { validateDefinitionFile } from "../../definition/validate.js";
import type { DefinitionError } from "../../errors.js";
import { checkSettings, DEFINITIONS_HELP, examples, printJson, settingsOption, withSwitchyard } from "../common.js";
import { loadDefinitionFile } from "../../definition/load.js";

interface ValidateFlags {
  json?: boolean;
  against?: string;
  settings?: string;
}

/** `switchyard validate <file>`: report every problem of a definition with file:line:column (file only for a module). */
export function validateCommand(program: Command): void {
  const command = program
    .command("validate")
    .description("check a definition file and report every problem with file:line:column; with --against, also what deploying it would strand")
    .argument("<file>", DEFINITIONS_HELP)
    .option("--json", "print the problems as a JSON array of {file, line, column, message}")
    .option(
      "--against <deployed|file>",
      "also report states that in-flight instances occupy (or may reach) and transitions they wait on, which this file removes without a migrate: entry: against the deployed versions and their instances (deployed, read from the journal of --settings), or against an earlier definition file",
    )
    .addOption(settingsOption())
    .action(async (file: string, flags: ValidateFlags) => {
      if (flags.settings !== undefined && flags.against !== "deployed") checkSettings(flags.settings);
      let problems: DefinitionError[] = await validateDefinitionFile(file);
      if (problems.length === 0 && flags.against !== undefined) problems = await stranded(file, flags.against, flags.settings);
      if (flags.json) {
        // A problem in a module's machines has a file but no line and column.
        printJson(problems.map((p) => ({ file: p.file, ...p.location, message: p.message })));
      } else if (problems.length === 0) {
        process.stdout.write(`${file}: ok${flags.against === undefined ? "" : ` (nothing stranded against ${flags.against})`}\n`);
      } else {
        process.stderr.write(`${problems.map((p) => p.toString()).join("\n")}\n${problems.length} problem(s) in ${file}\n`);
      }
      if (problems.length > 0) process.exitCode = 1;
    });
  examples(command, ["validate fsm.yaml", "validate fsm.yaml --json", "validate fsm.yaml --against deployed -s prod.settings.yaml", "validate fsm.yaml --against fsm.old.yaml"]);
}

/** What deploying `file` would strand, against the deployed versions or an earlier file. */
async function stranded(file: string, against: string, settings: string | undefined): Promise<DefinitionError[]> {
  if (against === "deployed") {
    return withSwitchyard({ definitions: file, settings }, (sy) => sy.strandedByDeploy(), { existingStore: true });
  }
  const next = await loadDefinitionFile(file);
  const old = await compileFile(against);
  if (old.set === undefined) return [...old.problems];
  const problems: DefinitionError[] = [];
  for (const machine of next.machines.values()) {
    const previous = old.set.machines.get(machine.name);
    if (previous !== undefined && previous.version !== machine.version) problems.push(...checkAgainst(previous, machine));
  }
  return problems;
}
