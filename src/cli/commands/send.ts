import { createReadStream } from "node:fs";
import { access } from "node:fs/promises";
import { createInterface } from "node:readline";
import type { Command } from "commander";
import type { Switchyard } from "../../client/switchyard.js";
import { UsageError, describeError } from "../../errors.js";
import { definitionsOption, examples, printJson, settingsOption, withSwitchyard } from "../common.js";

interface SendFlags {
  definitions: string;
  settings?: string;
  data?: string;
  from?: string;
  json?: boolean;
}

/** `switchyard send <id> <event>`: deliver an external event to a waiting instance; `--from` sends many. */
export function sendCommand(program: Command): void {
  const command = program
    .command("send")
    .description(
      "deliver an external event to a waiting instance: it becomes the instance's next step (a worker runs it); --data reaches the actions as ctx.data.event_data; --from sends one event per line of a file",
    )
    .argument("[correlation-id]")
    .argument("[event]", "an event the instance's current state has a transition on")
    .addOption(definitionsOption())
    .addOption(settingsOption())
    .option("--data <json>", "the event's data, any JSON value (the actions see it as ctx.data.event_data)")
    .option("--from <file>", 'send one event per line of a JSON Lines file (- reads stdin): {"correlation_id": …, "event": …, "data": …}')
    .option("--json", "print {correlation_id, state, event, steps, role, side} as JSON; with --from, one object per line (with line and error for a failed one)")
    .action(async (id: string | undefined, event: string | undefined, flags: SendFlags) => {
      if (flags.from !== undefined) {
        if (id !== undefined || flags.data !== undefined) throw new UsageError("--from takes the ids, events and data from its lines: give no <correlation-id>, <event> or --data with it");
        if (flags.from !== "-") await access(flags.from).catch((error: Error) => {
          throw new UsageError(`cannot read --from ${flags.from}: ${error.message}; give a JSON Lines file, or - for standard input`);
        });
        const failed = await withSwitchyard(flags, (sy) => sendLines(sy, flags.from as string, flags.json === true), { existingStore: true });
        if (failed > 0) process.exitCode = 1;
        return;
      }
      if (id === undefined || event === undefined) throw new UsageError("name the instance and the event, e.g. switchyard send order-7 approve -d fsm.yaml; or give --from <file>");
      const data = parseData(flags.data, "--data");
      const sent = await withSwitchyard(flags, (sy) => sy.sendEvent(id, event, { data }), { existingStore: true });
      if (flags.json) printJson(sentJson(sent));
      else process.stdout.write(`${sentLine(sent)}\n`);
    });
  examples(command, [
    "send order-7 approve -d fsm.yaml",
    `send order-7 approve -d fsm.yaml --data '{"approved_by": "ana"}' --json`,
    "send -d fsm.yaml --from events.jsonl",
  ]);
}

type Sent = Awaited<ReturnType<Switchyard["sendEvent"]>>;

function sentJson(sent: Sent) {
  return { correlation_id: sent.correlationId, state: sent.state, event: sent.event, steps: sent.steps, role: sent.sent.role, side: sent.sent.side };
}

function sentLine(sent: Sent): string {
  return `sent ${sent.event} to ${sent.correlationId} in state ${sent.state} as step ${sent.steps}`;
}

/** `--from`: one event per line, in order; each line's result as it comes, a summary on stderr. Returns how many failed. */
async function sendLines(sy: Switchyard, from: string, json: boolean): Promise<number> {
  const input = from === "-" ? process.stdin : createReadStream(from);
  let line = 0;
  let sent = 0;
  let failed = 0;
  for await (const text of createInterface({ input, crlfDelay: Number.POSITIVE_INFINITY })) {
    line++;
    if (text.trim() === "") continue;
    try {
      const item = parseData(text, `line ${line}`) as { correlation_id?: unknown; event?: unknown; data?: unknown } | null;
      if (typeof item?.correlation_id !== "string" || typeof item.event !== "string") {
        throw new UsageError(`line ${line} needs "correlation_id" and "event" strings, e.g. {"correlation_id": "order-7", "event": "approve"}`);
      }
      const result = await sy.sendEvent(item.correlation_id, item.event, { data: item.data });
      sent++;
      process.stdout.write(json ? `${JSON.stringify({ line, ...sentJson(result) })}\n` : `${sentLine(result)}\n`);
    } catch (error) {
      failed++;
      const message = describeError(error);
      if (json) process.stdout.write(`${JSON.stringify({ line, error: message })}\n`);
      else process.stderr.write(`line ${line}: ${message}\n`);
    }
  }
  process.stderr.write(`${sent} event(s) sent${failed > 0 ? `, ${failed} failed` : ""}\n`);
  return failed;
}

function parseData(text: string | undefined, what: string): unknown {
  if (text === undefined) return undefined;
  try {
    return JSON.parse(text) as unknown;
  } catch (error) {
    throw new UsageError(`${what} is not valid JSON (${(error as Error).message}); pass e.g. '{"approved": true}'`);
  }
}
