import type { Command } from "commander";
import { UsageError } from "../../errors.js";
import { INSTANCE_STATUSES, type InstanceStatus } from "../../ports.js";
import { positiveInt, printJson, settingsOption, withSwitchyard } from "../common.js";
import { formatHistory, formatInstance, instanceJson, table } from "../format.js";

interface Flags {
  settings?: string;
  json?: boolean;
}

/** `switchyard status <id>`, `history <id>` and `list`: what the journal knows. */
export function statusCommands(program: Command): void {
  program
    .command("status")
    .description("show an instance's status (running, waiting, completed or failed), state and user context")
    .argument("<correlation-id>")
    .addOption(settingsOption())
    .option("--json", "print one JSON object")
    .action(async (id: string, flags: Flags) => {
      const record = await withSwitchyard(flags, (sy) => sy.status(id));
      if (flags.json) printJson(instanceJson(record));
      else process.stdout.write(`${formatInstance(record)}\n`);
    });

  program
    .command("history")
    .description("list every message an instance produced, in step order, with its failed attempts between them")
    .argument("<correlation-id>")
    .addOption(settingsOption())
    .option("--json", "print {correlation_id, messages: [...], attempts: [...]}")
    .action(async (id: string, flags: Flags) => {
      const { messages, attempts } = await withSwitchyard(flags, async (sy) => ({ messages: await sy.history(id), attempts: await sy.attempts(id) }));
      if (flags.json) printJson({ correlation_id: id, messages, attempts });
      else process.stdout.write(`${formatHistory(messages, attempts)}\n`);
    });

  program
    .command("list")
    .description("list instances, newest first")
    .addOption(settingsOption())
    .option("-m, --machine <name>", "only instances of this machine")
    .option("--status <status>", `only instances with this status (${INSTANCE_STATUSES.join(", ")})`)
    .option("-n, --limit <n>", "at most this many", positiveInt("--limit"), 50)
    .option("--json", "print a JSON array")
    .action(async (flags: Flags & { machine?: string; status?: string; limit: number }) => {
      const status = flags.status as InstanceStatus | undefined;
      if (status !== undefined && !(INSTANCE_STATUSES as readonly string[]).includes(status)) {
        throw new UsageError(`--status must be one of ${INSTANCE_STATUSES.join(", ")}, got "${status}"`);
      }
      const records = await withSwitchyard(flags, (sy) => sy.list({ machineName: flags.machine, status, limit: flags.limit }));
      if (flags.json) printJson(records.map(instanceJson));
      else
        process.stdout.write(
          `${table(
            ["correlation_id", "machine", "status", "state", "updated"],
            records.map((r) => [r.correlationId, r.machineName, r.status, r.state, new Date(r.updatedAt).toISOString()]),
          )}\n`,
        );
    });
}
