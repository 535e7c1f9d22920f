import type { Command } from "commander";
import { definitionsOption, examples, printJson, settingsOption, withSwitchyard } from "../common.js";

interface RedriveFlags {
  definitions: string;
  settings?: string;
  json?: boolean;
}

/** `switchyard redrive <id>`: run a failed instance's failed step again, retries reset. */
export function redriveCommand(program: Command): void {
  const command = program
    .command("redrive")
    .description("run a failed instance's failed step again with its retries reset, once the cause is fixed; the instance is running again")
    .argument("<correlation-id>")
    .addOption(definitionsOption())
    .addOption(settingsOption())
    .option("--json", "print {correlation_id, state, event, steps, role, side} as JSON")
    .action(async (id: string, flags: RedriveFlags) => {
      const result = await withSwitchyard(flags, (sy) => sy.redrive(id), { existingStore: true });
      if (flags.json) {
        printJson({ correlation_id: result.correlationId, state: result.state, event: result.event, steps: result.steps, role: result.sent.role, side: result.sent.side });
      } else {
        process.stdout.write(`redriving ${result.correlationId}: sent step ${result.steps} (${result.state}/${result.event}) again with its retries reset; a worker runs it\n`);
      }
    });
  examples(command, ["list --status failed", "redrive order-7 -d fsm.yaml --json"]);
}
