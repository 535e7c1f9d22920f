import type { Command } from "commander";
import type { AbortResult } from "../../client/control.js";
import { definitionsOption, examples, printJson, settingsOption, withSwitchyard } from "../common.js";

interface AbortFlags {
  definitions: string;
  settings?: string;
  reason?: string;
  json?: boolean;
}

/** `switchyard abort <id>`: stop an instance, running its machine's `on_abort` compensation first. */
export function abortCommand(program: Command): void {
  const command = program
    .command("abort")
    .description(
      "abort an instance: no new action of it starts (one running finishes, its outcome discarded); a machine with on_abort runs that compensation, then the instance ends aborted",
    )
    .argument("<correlation-id>")
    .addOption(definitionsOption())
    .addOption(settingsOption())
    .option("--reason <text>", "why, kept as the instance's reason (default: aborted by an operator)")
    .option("--json", "print {correlation_id, requested, reason, via} as JSON")
    .action(async (id: string, flags: AbortFlags) => {
      const result = await withSwitchyard(flags, (sy) => sy.abort(id, { reason: flags.reason }), { existingStore: true });
      if (flags.json) printJson({ correlation_id: result.correlationId, requested: result.requested, reason: result.reason, via: result.via });
      else process.stdout.write(`${abortLine(result)}\n`);
    });
  examples(command, [`abort order-7 -d fsm.yaml --reason "customer cancelled"`, "abort order-7 -d fsm.yaml -s prod.settings.yaml --json"]);
}

/** What an abort did, in one line. */
function abortLine(result: AbortResult): string {
  const id = result.correlationId;
  if (!result.requested) {
    return result.via === "done" ? `${id} is already aborted (${result.reason})` : `the abort of ${id} was already requested (${result.reason}); a worker takes it`;
  }
  const how = {
    "in-flight": "its pending message takes the abort path when a worker runs it",
    "abort-message": "it was waiting, so an abort message was sent; a worker takes it",
    parked: "its parked messages were sent again to take the abort path",
    done: "it is aborted",
  }[result.via];
  return `abort of ${id} requested (${result.reason}): ${how}`;
}
