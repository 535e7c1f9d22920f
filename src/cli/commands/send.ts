import type { Command } from "commander";
import { UsageError } from "../../errors.js";
import { definitionsOption, examples, printJson, settingsOption, withSwitchyard } from "../common.js";

interface SendFlags {
  definitions: string;
  settings?: string;
  data?: string;
  json?: boolean;
}

/** `switchyard send <id> <event>`: deliver an external event to a waiting instance. */
export function sendCommand(program: Command): void {
  const command = program
    .command("send")
    .description(
      "deliver an external event to a waiting instance: it becomes the instance's next step (a worker runs it); --data reaches the actions as ctx.data.event_data",
    )
    .argument("<correlation-id>")
    .argument("<event>", "an event the instance's current state has a transition on")
    .addOption(definitionsOption())
    .addOption(settingsOption())
    .option("--data <json>", "the event's data, any JSON value (the actions see it as ctx.data.event_data)")
    .option("--json", "print {correlation_id, state, event, steps, role, side} as JSON")
    .action(async (id: string, event: string, flags: SendFlags) => {
      const data = parseData(flags.data);
      const sent = await withSwitchyard(flags, (sy) => sy.sendEvent(id, event, { data }), { existingStore: true });
      if (flags.json) {
        printJson({ correlation_id: sent.correlationId, state: sent.state, event: sent.event, steps: sent.steps, role: sent.sent.role, side: sent.sent.side });
      } else {
        process.stdout.write(`sent ${sent.event} to ${sent.correlationId} in state ${sent.state} as step ${sent.steps}\n`);
      }
    });
  examples(command, ["send order-7 approve -d fsm.yaml", `send order-7 approve -d fsm.yaml --data '{"approved_by": "ana"}' --json`]);
}

function parseData(text: string | undefined): unknown {
  if (text === undefined) return undefined;
  try {
    return JSON.parse(text) as unknown;
  } catch (error) {
    throw new UsageError(`--data is not valid JSON (${(error as Error).message}); pass e.g. --data '{"approved": true}'`);
  }
}
