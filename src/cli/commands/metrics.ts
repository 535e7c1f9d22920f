import type { Command } from "commander";
import { ERROR_COUNTERS } from "../../ports.js";
import { UsageError } from "../../errors.js";
import { printJson, settingsOption, withSwitchyard } from "../common.js";
import { table } from "../format.js";

/** `switchyard metrics`: the stored error counters, summed per machine, state and event. */
export function metricsCommand(program: Command): void {
  program
    .command("metrics")
    .description("sum the error counters (error, fatal, cache, retry, duplicate, dispatch) per machine, state and event")
    .addOption(settingsOption())
    .option("-m, --machine <name>", "only this machine")
    .option("--since <time>", "only emissions since this ISO time, or this long ago (e.g. 15m, 2h, 1d)")
    .option("--json", "print a JSON array of {dimensions, counters, emissions}")
    .action(async (flags: { settings?: string; machine?: string; since?: string; json?: boolean }) => {
      const since = flags.since === undefined ? undefined : parseSince(flags.since, Date.now());
      const totals = await withSwitchyard(flags, (sy) => sy.metrics({ machineName: flags.machine, since }), { existingStore: true });
      if (flags.json) {
        printJson(totals);
        return;
      }
      process.stdout.write(
        `${table(
          ["machine", "state", "event", "emissions", ...ERROR_COUNTERS],
          totals.map((t) => [
            t.dimensions.machine_name,
            t.dimensions.current_state,
            t.dimensions.current_event,
            String(t.emissions),
            ...ERROR_COUNTERS.map((name) => String(t.counters[name] ?? 0)),
          ]),
        )}\n`,
      );
    });
}

const UNITS: Record<string, number> = { s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** `15m`, `2h`, `1d` before `now`, or an ISO time; in ms since the epoch. */
export function parseSince(text: string, now: number): number {
  const relative = /^(\d+(?:\.\d+)?)([smhd])$/.exec(text.trim());
  if (relative) return now - Number(relative[1]) * (UNITS[relative[2] as string] as number);
  const absolute = Date.parse(text);
  if (Number.isNaN(absolute)) throw new UsageError(`--since must be an ISO time or a duration like 15m, 2h, 1d; got "${text}"`);
  return absolute;
}
