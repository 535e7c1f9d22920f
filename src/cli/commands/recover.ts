import type { Command } from "commander";
import { definitionsOption, examples, printJson, settingsOption, withSwitchyard } from "../common.js";

interface RecoverFlags {
  definitions: string;
  settings?: string;
  json?: boolean;
}

/** `switchyard recover <id>`: send a stalled instance's last message again, from the journal. */
export function recoverCommand(program: Command): void {
  const command = program
    .command("recover")
    .description(
      "send a stalled instance's last message again, from the journal (list --stalled finds them); a copy of a step already taken is dropped as a duplicate",
    )
    .argument("<correlation-id>")
    .addOption(definitionsOption())
    .addOption(settingsOption())
    .option("--json", "print {correlation_id, resent: [{state, event, steps, retries, delay_seconds}]} as JSON")
    .action(async (id: string, flags: RecoverFlags) => {
      const result = await withSwitchyard(flags, (sy) => sy.recover(id), { existingStore: true });
      const resent = result.resent.map((m) => ({ state: m.state, event: m.event, steps: m.steps, retries: m.retries, delay_seconds: m.delaySeconds }));
      if (flags.json) {
        printJson({ correlation_id: result.correlationId, resent });
        return;
      }
      for (const m of resent) {
        const due = m.delay_seconds > 0 ? `, due in ${Math.ceil(m.delay_seconds)} s` : "";
        process.stdout.write(`recovering ${result.correlationId}: sent step ${m.steps} (${m.state}/${m.event}, retry ${m.retries}) again${due}; a worker runs it\n`);
      }
    });
  examples(command, ["list --stalled --older-than 10m", "recover order-7 -d fsm.yaml"]);
}
