import type { Command } from "commander";
import type { StalledInstance } from "../../client/control.js";
import { DEFAULT_PAGE_SIZE, listCursor, parseListCursor } from "../../client/list-page.js";
import { UsageError } from "../../errors.js";
import { INSTANCE_STATUSES, type InstanceStatus } from "../../ports.js";
import { examples, optionalDefinitionsOption, parseAge, positiveInt, printJson, settingsOption, withSwitchyard } from "../common.js";
import { formatHistory, formatInstance, instanceJson, statusCell, table } from "../format.js";
import { tableLayout } from "../terminal.js";

interface Flags {
  settings?: string;
  json?: boolean;
  wide?: boolean;
}

/** `--wide` of the commands that print a table. */
const WIDE = "do not cut long text (user_context, reason, why) to the terminal's width";

/** `switchyard status <id>`, `history <id>` and `list`: what the journal knows. */
export function statusCommands(program: Command): void {
  const status = program
    .command("status")
    .description("show an instance's status (running, waiting, paused, completed, failed or aborted), state and user context")
    .argument("<correlation-id>")
    .addOption(settingsOption())
    .option("--json", "print one JSON object")
    .action(async (id: string, flags: Flags) => {
      const record = await withSwitchyard(flags, (sy) => sy.status(id), { existingStore: true });
      if (flags.json) printJson(instanceJson(record));
      else process.stdout.write(`${formatInstance(record)}\n`);
    });
  examples(status, ["status order-7", "status order-7 -s prod.settings.yaml --json"]);

  const history = program
    .command("history")
    .description("list every message an instance produced, in step order, with its failed attempts between them")
    .argument("<correlation-id>")
    .addOption(settingsOption())
    .option("--json", "print {correlation_id, messages: [...], attempts: [...]}")
    .option("--wide", WIDE)
    .action(async (id: string, flags: Flags) => {
      const { messages, attempts } = await withSwitchyard(flags, async (sy) => ({ messages: await sy.history(id), attempts: await sy.attempts(id) }), { existingStore: true });
      if (flags.json) printJson({ correlation_id: id, messages, attempts });
      else process.stdout.write(`${formatHistory(messages, attempts, tableLayout(flags))}\n`);
    });
  examples(history, ["history order-7", "history order-7 --wide", "history order-7 --json"]);

  const list = program
    .command("list")
    .description("list instances, newest first; with --stalled, those that look stuck (what recover is for)")
    .addOption(settingsOption())
    .option("-m, --machine <name>", "only instances of this machine")
    .option("--status <status>", `only instances with this status (${INSTANCE_STATUSES.join(", ")})`)
    .option("--machine-version <hash>", "only instances pinned to this machine version (a hash), or unversioned")
    .option("--state <state>", "only instances whose current state is this one")
    .option("--prefix <text>", "only instances whose correlation id starts with this text (taken literally: no wildcards)")
    .option("--stalled", "only running instances with nothing pending and no activity for --older-than, and waiting ones whose timer is that overdue")
    .option("--older-than <age>", "with --stalled: no activity for this long, like 90s, 10m, 2h, 1d (default: 10m)", parseAge("--older-than"))
    .addOption(optionalDefinitionsOption("with --stalled, needed to find waiting instances whose timer is overdue"))
    .option("-n, --limit <n>", "at most this many; when more follow, a last line on stderr gives the command for the next page", positiveInt("--limit"), DEFAULT_PAGE_SIZE)
    .option("--after <cursor>", "continue after this cursor: the one the previous page ended with")
    .option("--json", "print a JSON array of status --json objects, each with its cursor (with --stalled, each adds why and pending_checked instead)")
    .option("--wide", WIDE)
    .action(async (flags: ListFlags) => {
      const status = flags.status as InstanceStatus | undefined;
      if (status !== undefined && !(INSTANCE_STATUSES as readonly string[]).includes(status)) {
        throw new UsageError(`--status must be one of ${INSTANCE_STATUSES.join(", ")}, got "${status}"`);
      }
      if (flags.stalled) {
        if (status !== undefined) throw new UsageError("--stalled and --status do not go together: stalled instances are running, or waiting past their timer");
        if (flags.after !== undefined) throw new UsageError("--after pages the listing of all instances, not --stalled; raise --limit to see more stalled ones");
        if (flags.state !== undefined || flags.prefix !== undefined) throw new UsageError("--state and --prefix filter the listing of all instances, not --stalled; use --machine with --stalled");
        await listStalled(flags);
        return;
      }
      if (flags.olderThan !== undefined) throw new UsageError("--older-than goes with --stalled; e.g. switchyard list --stalled --older-than 10m");
      // A malformed cursor is refused before any store is opened.
      if (flags.after !== undefined) parseListCursor(flags.after);
      const page = await withSwitchyard(flags, (sy) => sy.listPage({
            machineName: flags.machine,
            version: versionFilter(flags.machineVersion),
            status,
            state: flags.state,
            idPrefix: flags.prefix,
            limit: flags.limit,
            after: flags.after,
          }), {
        existingStore: true,
      });
      const records = page.instances;
      if (flags.json) printJson(records.map((r) => ({ ...instanceJson(r), cursor: listCursor(r) })));
      else
        process.stdout.write(
          `${table(
            ["correlation_id", "machine", "version", "status", "state", "updated", "reason"],
            records.map((r) => [r.correlationId, r.machineName, r.version ?? "-", statusCell(r), r.state, new Date(r.updatedAt).toISOString(), r.reason ?? ""]),
            tableLayout(flags),
          )}\n`,
        );
      if (page.next !== undefined) process.stderr.write(`${nextPageLine(flags, records.length, page.next)}\n`);
    });
  examples(list, [
    "list --status waiting --machine order --limit 100 --after 1765042554123~order-42",
    "list --machine order --state review --prefix order-2026-",
    "list --stalled --older-than 10m -d fsm.yaml",
  ]);
}

/**
 * The line after a page that more instances follow: the exact command for the next page, with
 * the filters of this one. Not a count: counting every match would cost a full read on some
 * backends (a DynamoDB Scan), more than the page itself.
 */
function nextPageLine(flags: ListFlags, shown: number, next: string): string {
  const args = ["list"];
  if (flags.settings !== undefined) args.push("-s", flags.settings);
  if (flags.machine !== undefined) args.push("--machine", flags.machine);
  if (flags.status !== undefined) args.push("--status", flags.status);
  if (flags.machineVersion !== undefined) args.push("--machine-version", flags.machineVersion);
  if (flags.state !== undefined) args.push("--state", flags.state);
  if (flags.prefix !== undefined) args.push("--prefix", flags.prefix);
  if (flags.limit !== DEFAULT_PAGE_SIZE) args.push("--limit", String(flags.limit));
  if (flags.json) args.push("--json");
  args.push("--after", next);
  return `showing ${shown} instance${shown === 1 ? "" : "s"}; more follow. Next page: switchyard ${args.map(shellWord).join(" ")}`;
}

/** A word as a POSIX shell reads it back: as it is when safe, else in single quotes. */
function shellWord(word: string): string {
  return /^[A-Za-z0-9._:/=+,@%-][A-Za-z0-9._:~/=+,@%-]*$/.test(word) ? word : `'${word.replaceAll("'", "'\\''")}'`;
}

interface ListFlags extends Flags {
  definitions?: string;
  machine?: string;
  status?: string;
  machineVersion?: string;
  state?: string;
  prefix?: string;
  stalled?: boolean;
  olderThan?: number;
  limit: number;
  after?: string;
}

/** `list --stalled`: one row per stalled instance, saying why it counts as stalled. */
async function listStalled(flags: ListFlags): Promise<void> {
  const stalled = await withSwitchyard(flags, (sy) => sy.stalled({ olderThanMs: flags.olderThan, machineName: flags.machine, limit: flags.limit }), { existingStore: true });
  if (flags.json) {
    printJson(stalled.map((s) => ({ ...instanceJson(s.record), why: s.why, pending_checked: s.pendingChecked })));
    return;
  }
  process.stdout.write(
    `${table(
      ["correlation_id", "machine", "status", "state", "why"],
      stalled.map((s) => [s.record.correlationId, s.record.machineName, statusCell(s.record), s.record.state, whyStalled(s)]),
      tableLayout(flags),
    )}\n`,
  );
}

function whyStalled(stalled: StalledInstance): string {
  if (stalled.pendingChecked) return stalled.why;
  return `${stalled.why}; a source (e.g. SQS) could not tell whether a message of it is pending, so it may not be stalled`;
}

/** `--machine-version`: a hash, or `unversioned` for the instances started without one. */
function versionFilter(version: string | undefined): string | null | undefined {
  return version === "unversioned" ? null : version;
}
