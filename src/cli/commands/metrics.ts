import type { Command } from "commander";
import { type Activity, ERROR_COUNTERS, type MetricsTotal } from "../../ports.js";
import { SwitchyardError, UsageError } from "../../errors.js";
import type { Switchyard } from "../../client/switchyard.js";
import { examples, printJson, settingsOption, withSwitchyard } from "../common.js";
import { table } from "../format.js";

interface MetricsFlags {
  settings?: string;
  machine?: string;
  since?: string;
  errors?: boolean;
  activity?: boolean;
  json?: boolean;
}

/**
 * `switchyard metrics`: the stored error counters, summed per machine, state and event, and what
 * the journal knows of the instances (counts per machine, step latencies per machine and state).
 */
export function metricsCommand(program: Command): void {
  const command = program
    .command("metrics")
    .description(
      "sum the error counters (error, fatal, cache, retry, duplicate, dispatch) per machine, state and event, and show from the journal the instances per machine and the step latencies (p50, p90, p99, max) per machine and state",
    )
    .addOption(settingsOption())
    .option("-m, --machine <name>", "only this machine")
    .option("--since <time>", "only what happened since this ISO time, or this long ago (e.g. 15m, 2h, 1d): emissions, instances that ended, messages sent")
    .option("--errors", "only the error counters")
    .option("--activity", "only the instances and step latencies")
    .option("--json", "print the error counters as a JSON array of {dimensions, counters, emissions}; with --activity, the activity as one JSON object")
    .action(async (flags: MetricsFlags) => {
      if (flags.json && flags.errors && flags.activity) {
        throw new UsageError("--json prints one document: choose --errors (the JSON array of error counters, the default) or --activity (the JSON object of the activity)");
      }
      const since = flags.since === undefined ? undefined : parseSince(flags.since, Date.now());
      const filter = { machineName: flags.machine, since };
      // Neither flag: both parts, each one when it can be read (--json: the error counters, as ever).
      const both = !flags.errors && !flags.activity;
      await withSwitchyard(
        flags,
        async (sy) => {
          if (flags.json) {
            printJson(flags.activity ? activityJson(await sy.activity(filter), since) : await sy.metrics(filter));
            return;
          }
          const sections: string[] = [];
          if (flags.errors || both) {
            sections.push(await section(both, () => sy.metrics(filter), (totals) => errorsText(totals, both), "metrics_not_queryable", () => whereErrorsLive(sy)));
          }
          if (flags.activity || both) {
            sections.push(await section(both, () => sy.activity(filter), (activity) => activityText(activity, since), "journal_off", () => "activity: the instance journal is switched off (journal: false in the settings)"));
          }
          process.stdout.write(`${sections.join("\n\n")}\n`);
        },
        { existingStore: true },
      );
    });
  examples(command, ["metrics --since 15m", "metrics --machine order --activity --since 2026-03-01T00:00:00Z --json"]);
}

/**
 * One part of the report. When both parts were asked for (no --errors or --activity), a part that
 * cannot be read this way (code `unavailable`) becomes one line saying why, and the other part is
 * shown all the same; asked for alone, it fails the command.
 */
async function section<T>(both: boolean, read: () => Promise<T>, show: (value: T) => string, unavailable: string, instead: () => string): Promise<string> {
  try {
    return show(await read());
  } catch (error) {
    if (both && error instanceof SwitchyardError && error.code === unavailable) return instead();
    throw error;
  }
}

/** The error counters' table, under a heading when the activity follows. */
function errorsText(totals: readonly MetricsTotal[], heading: boolean): string {
  return `${heading ? "error counters\n" : ""}${table(
    ["machine", "state", "event", "emissions", ...ERROR_COUNTERS],
    totals.map((t) => [
      t.dimensions.machine_name,
      t.dimensions.current_state,
      t.dimensions.current_event,
      String(t.emissions),
      ...ERROR_COUNTERS.map((name) => String(t.counters[name] ?? 0)),
    ]),
  )}`;
}

/** The line that stands for the error counters when the metrics backend keeps none to query. */
function whereErrorsLive(sy: Switchyard): string {
  const uri = sy.roles.metrics?.primary.uri;
  const where =
    uri === undefined
      ? "the metrics role is switched off (metrics: false in the settings), so none are recorded"
      : uri === "log:"
        ? `${uri} writes them as JSON lines on the workers' stderr`
        : uri.startsWith("log:")
          ? `${uri} appends them as JSON lines to ${uri.slice("log:".length)}`
          : uri.startsWith("cloudwatch-emf:")
            ? `${uri} writes them as CloudWatch embedded-metric lines on the workers' stdout (namespace ${namespaceOf(uri)})`
            : uri.startsWith("cloudwatch:")
              ? `${uri} sends them to CloudWatch (namespace ${namespaceOf(uri)})`
              : `${uri} keeps none to query`;
  return `error counters: not kept here: ${where}; use a sqlite: or postgres:// URI for metrics to see them here`;
}

const namespaceOf = (uri: string) => (uri.split(":")[1] ?? "").split("?")[0];

function activityText(activity: Activity, since: number | undefined): string {
  const window = since === undefined ? "ever" : `since ${new Date(since).toISOString()}`;
  const lines = [
    `instances (completed, failed, aborted: ended ${window}; running, waiting, paused: now)`,
    table(
      ["machine", "completed", "failed", "aborted", "running", "waiting", "paused"],
      activity.machines.map((m) => [m.machineName, ...[m.completed, m.failed, m.aborted, m.running, m.waiting, m.paused].map(String)]),
    ),
    "",
    `step latency (messages sent ${window}: from due to the next message the step sent, or to the instance's end)`,
    table(
      ["machine", "state", "processed", "p50", "p90", "p99", "max"],
      activity.states.map((s) => [s.machineName, s.state, String(s.processed), ...[s.p50, s.p90, s.p99, s.max].map(formatMs)]),
    ),
  ];
  if (activity.capped !== undefined) {
    lines.push("", `note: only the ${activity.capped} most recently started instances were read (the scan limit of this journal); older ones are not counted`);
  }
  return lines.join("\n");
}

/** A latency at a glance: `850ms`, `12.3s`, `4.5m`, `2.1h`. */
export function formatMs(ms: number): string {
  if (ms < 1_000) return `${Math.round(ms)}ms`;
  if (ms < 60_000) return `${(ms / 1_000).toFixed(1)}s`;
  if (ms < 3_600_000) return `${(ms / 60_000).toFixed(1)}m`;
  return `${(ms / 3_600_000).toFixed(1)}h`;
}

/** The `--activity --json` document: snake_case keys, latencies in milliseconds. */
function activityJson(activity: Activity, since: number | undefined) {
  return {
    since: since === undefined ? null : new Date(since).toISOString(),
    machines: activity.machines.map((m) => ({
      machine_name: m.machineName,
      completed: m.completed,
      failed: m.failed,
      aborted: m.aborted,
      running: m.running,
      waiting: m.waiting,
      paused: m.paused,
    })),
    states: activity.states.map((s) => ({
      machine_name: s.machineName,
      state: s.state,
      processed: s.processed,
      p50_ms: s.p50,
      p90_ms: s.p90,
      p99_ms: s.p99,
      max_ms: s.max,
    })),
    ...(activity.capped === undefined ? {} : { capped: activity.capped }),
  };
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
