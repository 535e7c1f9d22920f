import type { Command } from "commander";
import { positiveInt, printJson, settingsOption, withSwitchyard } from "../common.js";
import { table } from "../format.js";

/** `switchyard dead-letters`: messages that could not be processed, with the reason. */
export function deadLettersCommand(program: Command): void {
  program
    .command("dead-letters")
    .description("list messages that could not be processed (unparseable, unknown machine), newest first, with the reason")
    .addOption(settingsOption())
    .option("-n, --limit <n>", "at most this many", positiveInt("--limit"), 50)
    .option("--json", "print a JSON array of {id, source_uri, message_id, reason, receive_count, dead_at, body}")
    .action(async (flags: { settings?: string; limit: number; json?: boolean }) => {
      const letters = await withSwitchyard(flags, (sy) => sy.deadLetters(flags.limit));
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
          ["dead_at", "source", "message", "reason"],
          letters.map((l) => [new Date(l.deadAt).toISOString(), l.sourceUri, l.messageId, l.reason]),
        )}\n`,
      );
    });
}
