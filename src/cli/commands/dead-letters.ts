/**
 * `switchyard dead-letters`: the messages that could not be processed, with the reason; and
 * `switchyard dead-letters redrive`: send them again once the cause is fixed.
 */
import type { Command } from "commander";
import type { DeadLetterRedriveResult } from "../../client/dead-letters.js";
import { describeError, UsageError } from "../../errors.js";
import { examples, positiveInt, printJson, settingsOption, withSwitchyard } from "../common.js";
import { table } from "../format.js";
import { tableLayout } from "../terminal.js";

interface RedriveFlags {
  settings?: string;
  id?: number;
  source?: string;
  all?: boolean;
  json?: boolean;
}

/** `switchyard dead-letters` and `switchyard dead-letters redrive`. */
export function deadLettersCommand(program: Command): void {
  const deadLetters = program
    .command("dead-letters")
    .description("list messages that could not be processed (unparseable, unknown machine), newest first, with the reason; redrive sends them again")
    .addOption(settingsOption())
    .option("-n, --limit <n>", "at most this many", positiveInt("--limit"), 50)
    .option("--json", "print a JSON array of {id, source_uri, message_id, reason, receive_count, dead_at, body}")
    .option("--wide", "do not cut the reason to the terminal's width")
    .action(async (flags: { settings?: string; limit: number; json?: boolean; wide?: boolean }) => {
      const letters = await withSwitchyard(flags, (sy) => sy.deadLetters(flags.limit), { existingStore: true });
      if (flags.json) {
        printJson(
          letters.map((l) => ({
            id: l.id,
            source_uri: l.sourceUri,
            message_id: l.messageId,
            reason: l.reason,
            receive_count: l.receiveCount,
            dead_at: new Date(l.deadAt).toISOString(),
            body: l.body,
          })),
        );
        return;
      }
      process.stdout.write(
        `${table(
          ["id", "dead_at", "source", "message", "reason"],
          letters.map((l) => [String(l.id), new Date(l.deadAt).toISOString(), l.sourceUri, l.messageId, l.reason]),
          tableLayout(flags),
        )}\n`,
      );
    });
  examples(deadLetters, ["dead-letters", "dead-letters --limit 10 --wide", "dead-letters -s prod.settings.yaml --json"]);

  const redrive = deadLetters
    .command("redrive")
    .description(
      "send dead letters again, unchanged, once their cause is fixed (e.g. a worker that now has the machine), and remove each one whose send succeeded",
    )
    .addOption(settingsOption())
    .option("--id <n>", "the dead letter with this id (the id column of switchyard dead-letters)", wholeNumber("--id"))
    .option("--source <uri>", "the letter's source (the source column); needed with --id when several stores keep dead letters; with --all, only this source's")
    .option("--all", "every dead letter listed when the redrive starts")
    .option("--json", "print a JSON array of {id, source_uri, correlation_id, ok, role, side, error}")
    .action(async (flags: RedriveFlags) => {
      if ((flags.id === undefined) === (flags.all !== true)) {
        throw new UsageError(flags.all ? "dead-letters redrive takes --id or --all, not both" : "dead-letters redrive needs --id N or --all");
      }
      const results = await withSwitchyard(flags, (sy) => sy.redriveDeadLetters({ id: flags.id, sourceUri: flags.source, all: flags.all }));
      if (results.some((r) => !r.ok)) process.exitCode = 1;
      if (flags.json) {
        printJson(results.map(resultJson));
        return;
      }
      for (const r of results) process.stdout.write(`${resultLine(r)}\n`);
      const failed = results.filter((r) => !r.ok).length;
      process.stdout.write(
        results.length === 0 ? "no dead letters to redrive\n" : `${results.length - failed} redriven, ${failed} failed${failed > 0 ? " (still dead letters)" : ""}\n`,
      );
    });
  examples(redrive, ["dead-letters redrive --all", "dead-letters redrive --id 3 --source sqlite:.switchyard/switchyard.db --json"]);
}

/** One result, as `--json` prints it. */
function resultJson(r: DeadLetterRedriveResult) {
  return {
    id: r.id,
    source_uri: r.sourceUri,
    correlation_id: r.correlationId ?? null,
    ok: r.ok,
    ...(r.ok ? { role: r.sent.role, side: r.sent.side } : { error: describeError(r.error) }),
  };
}

/** One result, as a line: `redriven 3 from sqlite:… (instance order-7) to stream.primary`. */
function resultLine(r: DeadLetterRedriveResult): string {
  const what = `${r.id} from ${r.sourceUri}${r.correlationId === undefined ? "" : ` (instance ${r.correlationId})`}`;
  return r.ok ? `redriven ${what} to ${r.sent.role}.${r.sent.side}` : `failed ${what}: ${describeError(r.error)}`;
}

/** Parse a whole-number option (dead-letter ids start at 0 in some stores). */
function wholeNumber(name: string) {
  return (text: string): number => {
    const value = Number(text);
    if (!/^\d+$/.test(text) || !Number.isSafeInteger(value)) throw new UsageError(`${name} must be a whole number, got "${text}"`);
    return value;
  };
}
