import type { Command } from "commander";
import type { RunResult } from "../../client/switchyard.js";
import { definitionsOption, examples, parseContext, printJson, settingsOption, withSwitchyard } from "../common.js";
import { type TableLayout, formatHistory } from "../format.js";
import { Terminal, paintStatus, palette, tableLayout } from "../terminal.js";

interface RunFlags {
  definitions: string;
  settings?: string;
  context?: string;
  correlationId?: string;
  json?: boolean;
  wide?: boolean;
}

/** `switchyard run <machine>`: start one instance, drive it to its end, print its result. */
export function runCommand(program: Command): void {
  const command = program
    .command("run")
    .summary("start one instance and drive it to its end in this process (waiting out retry backoffs), then print its history")
    .description(
      "start one instance and drive it to its end in this process (waiting out retry backoffs), then print its history; only its own messages are processed, so the stream and retry backends must filter by instance (sqlite, postgres, dynamodb)",
    )
    .argument("<machine>", "machine name")
    .addOption(definitionsOption())
    .addOption(settingsOption())
    .option("-c, --context <json>", "initial user context, a JSON object")
    .option("--correlation-id <id>", "your own id (1-128 of A-Za-z0-9._:-)")
    .option("--json", "print one JSON object: correlation_id, machine_name, status, state, user_context, messages, attempts, errors")
    .option("--wide", "do not cut user_context in the history to the terminal's width")
    .action(async (machine: string, flags: RunFlags) => {
      const context = parseContext(flags.context);
      const result = await withSwitchyard(flags, (sy) => sy.run(machine, { context, correlationId: flags.correlationId }), { logger: new Terminal().logger() });
      if (flags.json) printJson(result);
      else process.stdout.write(formatRun(result, tableLayout(flags)));
      if (result.status !== "completed") process.exitCode = 1;
    });
  examples(command, [
    "run order -d fsm.yaml",
    `run order -d fsm.yaml --context '{"amount": 42}' --correlation-id order-7`,
    "run order -d fsm.yaml --json",
  ]);
}

function formatRun(result: RunResult, layout: TableLayout): string {
  const lines = [
    `${result.machine_name} ${result.correlation_id}`,
    formatHistory(result.messages, result.attempts, layout),
    ...result.errors.map((e) => `errors in ${e.dimensions.current_state}/${e.dimensions.current_event}: ${JSON.stringify(e.counters)}`),
    `status: ${paintStatus(palette(process.stdout), result.status)}, state: ${result.state}${result.reason ? ` (${result.reason})` : ""}`,
    `user_context: ${JSON.stringify(result.user_context)}`,
  ];
  if (result.status === "waiting") {
    lines.push(
      `the instance waits in non-final state "${result.state}" for an external event (its do_action returned none); send one with: switchyard send ${result.correlation_id} <event>`,
    );
  }
  return `${lines.join("\n")}\n`;
}
