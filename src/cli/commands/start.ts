import type { Command } from "commander";
import { definitionsOption, parseContext, printJson, settingsOption, withSwitchyard } from "../common.js";

interface StartFlags {
  definitions: string;
  settings?: string;
  context?: string;
  correlationId?: string;
  delay?: string;
  json?: boolean;
}

/** `switchyard start <machine>`: send the start message of a new instance and print its id. */
export function startCommand(program: Command): void {
  program
    .command("start")
    .description("start an instance of a machine (a worker drives it) and print its correlation id")
    .argument("<machine>", "machine name")
    .addOption(definitionsOption())
    .addOption(settingsOption())
    .option("-c, --context <json>", "initial user context, a JSON object")
    .option("--correlation-id <id>", "your own id (1-128 of A-Za-z0-9._:-)")
    .option("--delay <seconds>", "delay before the first step, and the default delay between steps")
    .option("--json", "print {correlation_id, role, side} as JSON")
    .action(async (machine: string, flags: StartFlags) => {
      const context = parseContext(flags.context);
      await withSwitchyard(flags, async (sy) => {
        const started = await sy.start(machine, {
          context,
          correlationId: flags.correlationId,
          additionalDelaySeconds: flags.delay === undefined ? undefined : Number(flags.delay),
        });
        if (flags.json) printJson({ correlation_id: started.correlationId, role: started.sent.role, side: started.sent.side });
        else process.stdout.write(`${started.correlationId}\n`);
      });
    });
}
