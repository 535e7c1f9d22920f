import type { Command } from "commander";
import type { MachinePause } from "../../client/control.js";
import { UsageError } from "../../errors.js";
import { examples, optionalDefinitionsOption, printJson, settingsOption, withSwitchyard } from "../common.js";
import { instanceJson, table } from "../format.js";

interface PauseFlags {
  definitions?: string;
  settings?: string;
  machine?: string;
  state?: string;
  json?: boolean;
}

/** What `pause` and `resume` act on: one instance, or a machine (at one state). */
type Target = { readonly id: string; readonly pause?: undefined } | { readonly id?: undefined; readonly pause: MachinePause };

/**
 * `switchyard pause`, `resume` (an instance, or a machine at one state or all) and `pauses` (the
 * machine pauses in force).
 */
export function pauseCommands(program: Command): void {
  const pause = program
    .command("pause")
    .description(
      "pause an instance, or the instances of a machine (--machine) in one state (--state) or all: their next messages are parked, not processed and not lost, until resume",
    )
    .argument("[correlation-id]", "the instance to pause (or give --machine)")
    .addOption(optionalDefinitionsOption("needed with --machine"))
    .addOption(settingsOption())
    .option("-m, --machine <name>", "pause this machine's instances instead of one instance")
    .option("--state <state>", "with --machine: only its instances in this state (their next step is held)")
    .option("--json", "print the instance as status --json does, or {machine, state} for --machine")
    .action(async (id: string | undefined, flags: PauseFlags) => {
      const target = targetOf("pause", id, flags);
      if (target.id !== undefined) {
        const record = await withSwitchyard(flags, (sy) => sy.pause(target.id), { existingStore: true });
        if (flags.json) printJson(instanceJson(record));
        else
          process.stdout.write(
            `paused ${record.correlationId} in state "${record.state}" (${record.pausedStatus ?? record.status}); its messages are parked until: switchyard resume ${record.correlationId}\n`,
          );
        return;
      }
      await withSwitchyard(flags, (sy) => sy.pauseMachine(target.pause));
      if (flags.json) printJson(pauseJson(target.pause));
      else process.stdout.write(`paused ${pauseName(target.pause)}: ${held(target.pause)} until: switchyard resume ${pauseArgs(target.pause)}\n`);
    });
  examples(pause, ["pause order-7", "pause --machine order --state charging -d fsm.yaml"]);

  const resume = program
    .command("resume")
    .description("resume a paused instance, or lift a pause of a machine (--machine, --state): the parked messages are sent again as they were")
    .argument("[correlation-id]", "the instance to resume (or give --machine)")
    .addOption(optionalDefinitionsOption("needed with --machine"))
    .addOption(settingsOption())
    .option("-m, --machine <name>", "lift a pause of this machine instead of resuming one instance")
    .option("--state <state>", "with --machine: the state the pause holds")
    .option("--json", "print {correlation_id, resent, still_held}, or {machine, state, resent, still_held} for --machine")
    .action(async (id: string | undefined, flags: PauseFlags) => {
      const target = targetOf("resume", id, flags);
      const result = await withSwitchyard(flags, (sy) => (target.id !== undefined ? sy.resume(target.id) : sy.resumeMachine(target.pause)), {
        existingStore: target.id !== undefined,
      });
      const sent = `${result.resent} parked message${result.resent === 1 ? "" : "s"} sent again`;
      if (target.id !== undefined) {
        if (flags.json) printJson({ correlation_id: target.id, resent: result.resent, still_held: result.stillHeld });
        else process.stdout.write(`resumed ${target.id}: ${sent}\n`);
        return;
      }
      if (flags.json) printJson({ ...pauseJson(target.pause), resent: result.resent, still_held: result.stillHeld });
      else
        process.stdout.write(
          `lifted the pause of ${pauseName(target.pause)}: ${sent}${result.stillHeld > 0 ? `; ${result.stillHeld} left parked (their instances are paused themselves)` : ""}\n`,
        );
    });
  examples(resume, ["resume order-7", "resume --machine order --state charging -d fsm.yaml --json"]);

  const pauses = program
    .command("pauses")
    .description("list the machine pauses in force (switchyard pause --machine), by machine then state")
    .addOption(settingsOption())
    .option("--json", "print a JSON array of {machine, state}")
    .action(async (flags: { settings?: string; json?: boolean }) => {
      const rules = await withSwitchyard(flags, (sy) => sy.pauses(), { existingStore: true });
      const list = rules.map((rule) => ({ machine: rule.machineName, state: rule.state }));
      if (flags.json) printJson(list.map(pauseJson));
      else process.stdout.write(`${table(["machine", "state"], list.map((p) => [p.machine, p.state ?? "(every state)"]))}\n`);
    });
  examples(pauses, ["pauses", "pauses -s prod.settings.yaml --json"]);
}

/** The instance or machine a `pause`/`resume` names: exactly one of the two. */
function targetOf(command: "pause" | "resume", id: string | undefined, flags: PauseFlags): Target {
  const usage = `e.g. switchyard ${command} order-7, or switchyard ${command} --machine order --state charging -d fsm.yaml`;
  if (id !== undefined && flags.machine !== undefined) throw new UsageError(`${command} takes an instance id or --machine, not both; ${usage}`);
  if (flags.machine === undefined) {
    if (id === undefined) throw new UsageError(`${command} needs an instance id or --machine <name>; ${usage}`);
    if (flags.state !== undefined) throw new UsageError(`--state goes with --machine (a pause of a machine at one state); ${usage}`);
    return { id };
  }
  if (flags.definitions === undefined) {
    throw new UsageError(`${command} --machine needs the definitions to check the machine and its state; add -d <file>`);
  }
  return { pause: { machine: flags.machine, state: flags.state } };
}

function pauseName(pause: MachinePause): string {
  return `machine ${pause.machine}${pause.state === undefined ? "" : ` at state "${pause.state}"`}`;
}

function held(pause: MachinePause): string {
  return `the next step of each of its instances${pause.state === undefined ? "" : ` in "${pause.state}"`} is parked`;
}

function pauseArgs(pause: MachinePause): string {
  return `--machine ${pause.machine}${pause.state === undefined ? "" : ` --state ${pause.state}`} -d <file>`;
}

function pauseJson(pause: MachinePause) {
  return { machine: pause.machine, ...(pause.state === undefined ? {} : { state: pause.state }) };
}
