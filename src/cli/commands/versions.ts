import type { Command } from "commander";
import type { MigrateResult, VersionInfo } from "../../client/versions.js";
import { INSTANCE_STATUSES } from "../../ports.js";
import { definitionsOption, examples, optionalDefinitionsOption, printJson, settingsOption, withSwitchyard } from "../common.js";
import { table } from "../format.js";
import { tableLayout } from "../terminal.js";

interface Flags {
  definitions?: string;
  settings?: string;
  json?: boolean;
}

/** `switchyard deploy`, `versions [prune]` and `migrate`: definition versions (SPEC §10). */
export function versionCommands(program: Command): void {
  const deploy = program
    .command("deploy")
    .description("register the version of every machine in the definition file in the definition registry (idempotent), so workers without this file can run its instances")
    .addOption(definitionsOption())
    .addOption(settingsOption())
    .option("-m, --machine <name...>", "only these machines")
    .option("--json", "print [{machine, version, label, created}]")
    .action(async (flags: Flags & { machine?: string[] }) => {
      const deployed = await withSwitchyard(flags, (sy) => sy.deploy(flags.machine));
      if (flags.json) printJson(deployed);
      else {
        for (const d of deployed) {
          const label = d.label === undefined ? "" : ` (${d.label})`;
          process.stdout.write(`${d.machine} ${d.version}${label}: ${d.created ? "registered" : "already registered"}\n`);
        }
      }
    });
  examples(deploy, ["deploy -d fsm.yaml", "deploy -d fsm.yaml -s prod.settings.yaml --json"]);

  const versions = program
    .command("versions")
    .description("list the registered versions of each machine, with how many instances are on each, by status")
    .addOption(settingsOption())
    .addOption(optionalDefinitionsOption("marks the versions it holds as current"))
    .option("-m, --machine <name>", "only this machine")
    .option("--json", "print [{machine, version, label, deployed_at, current, newest, counts, needed}]")
    .action(async (flags: Flags & { machine?: string }) => {
      const infos = await withSwitchyard(flags, (sy) => sy.versions(flags.machine), { existingStore: true });
      if (flags.json) printJson(infos.map(versionJson));
      else process.stdout.write(`${versionTable(infos)}\n`);
    });
  examples(versions, ["versions", "versions -m approval --json"]);

  const prune = versions
    .command("prune")
    .description("remove registered versions no instance needs (none running, waiting, paused or failed on it); the newest of each machine is kept")
    .addOption(settingsOption())
    .addOption(optionalDefinitionsOption("also keeps the versions it holds"))
    .option("-m, --machine <name>", "only this machine")
    .option("--dry-run", "show what would be removed, removing nothing")
    .option("--json", "print {pruned: [...], kept: [...]}")
    .action(async (flags: Flags & { machine?: string; dryRun?: boolean }) => {
      const result = await withSwitchyard(flags, (sy) => sy.pruneVersions({ machine: flags.machine, dryRun: flags.dryRun }), { existingStore: true });
      if (flags.json) {
        printJson({ dry_run: flags.dryRun === true, pruned: result.pruned.map(versionJson), kept: result.kept.map((k) => ({ ...versionJson(k), why: k.why })) });
        return;
      }
      const verb = flags.dryRun ? "would remove" : "removed";
      for (const v of result.pruned) process.stdout.write(`${verb} ${v.machine} ${describe(v)}\n`);
      for (const k of result.kept) process.stdout.write(`kept ${k.machine} ${describe(k)}: ${k.why}\n`);
      if (result.pruned.length === 0) process.stdout.write("nothing to prune\n");
    });
  examples(prune, ["versions prune --dry-run", "versions prune -m approval"]);

  const migrate = program
    .command("migrate")
    .description(
      "move the instances of a machine on one version to another: waiting and paused ones now (each in one atomic write, with a history entry), running ones at their next message; states are renamed by the new definition's migrate: entry",
    )
    .addOption(definitionsOption())
    .addOption(settingsOption())
    .requiredOption("-m, --machine <name>", "the machine")
    .requiredOption("--from <version>", "the version instances leave: a hash (or a unique prefix), a label, or unversioned")
    .option("--to <version>", "the version they move to: current (the definition file's), a hash or a label", "current")
    .option("--dry-run", "show what would move, changing nothing")
    .option("--json", "print {machine, from, to, dry_run, moved: [...], at_next_message, refused: [...]}")
    .action(async (flags: Flags & { machine: string; from: string; to: string; dryRun?: boolean }) => {
      const progress = process.stderr.isTTY && !flags.json ? (seen: number) => process.stderr.write(`\r${seen} instance(s) looked at`) : undefined;
      const result = await withSwitchyard(
        flags,
        (sy) => sy.migrate({ machine: flags.machine, from: flags.from, to: flags.to, dryRun: flags.dryRun, onProgress: progress }),
        { existingStore: true },
      );
      if (progress !== undefined) process.stderr.write("\n");
      if (flags.json) printJson(migrateJson(result));
      else process.stdout.write(`${migrateSummary(result)}\n`);
      if (result.refused.length > 0) process.exitCode = 1;
    });
  examples(migrate, ["migrate -d fsm.yaml -m approval --from 2025-10 --dry-run", "migrate -d fsm.yaml -m approval --from 3f2a9c1e --to current --json"]);
}

function describe(v: Pick<VersionInfo, "version" | "label">): string {
  if (v.version === null) return "unversioned";
  return v.label === undefined ? v.version : `${v.version} (${v.label})`;
}

function versionJson(v: VersionInfo) {
  return {
    machine: v.machine,
    version: v.version,
    label: v.label ?? null,
    deployed_at: v.deployedAt === undefined ? null : new Date(v.deployedAt).toISOString(),
    current: v.current,
    newest: v.newest,
    counts: v.counts,
    needed: v.needed,
  };
}

function versionTable(infos: readonly VersionInfo[]): string {
  if (infos.length === 0) return "no versions registered (switchyard deploy -d <file> registers them; workers and starts do too)";
  const rows = infos.map((v) => [
    v.machine,
    v.version ?? "unversioned",
    v.label ?? "",
    v.deployedAt === undefined ? "" : new Date(v.deployedAt).toISOString(),
    [v.current ? "current" : "", v.newest ? "newest" : ""].filter(Boolean).join(", "),
    ...INSTANCE_STATUSES.map((status) => String(v.counts[status] ?? 0)),
  ]);
  return table(["machine", "version", "label", "deployed", "marks", ...INSTANCE_STATUSES], rows, tableLayout({}));
}

function migrateJson(r: MigrateResult) {
  return {
    machine: r.machine,
    from: { version: r.from.version, label: r.from.label ?? null },
    to: { version: r.to.version, label: r.to.label ?? null },
    dry_run: r.dryRun,
    moved: r.moved.map((m) => ({ correlation_id: m.correlationId, status: m.status, from_state: m.fromState, to_state: m.toState })),
    at_next_message: r.atNextMessage,
    refused: r.refused.map((f) => ({ correlation_id: f.correlationId, state: f.state, reason: f.reason })),
  };
}

function migrateSummary(r: MigrateResult): string {
  const verb = r.dryRun ? "would move" : "moved";
  const lines = [`${r.machine}: ${describe(r.from)} -> ${describe(r.to)}${r.dryRun ? " (dry run: nothing changed)" : ""}`];
  const renamed = new Map<string, number>();
  for (const m of r.moved) renamed.set(`${m.fromState} -> ${m.toState}`, (renamed.get(`${m.fromState} -> ${m.toState}`) ?? 0) + 1);
  lines.push(`${verb} ${r.moved.length} waiting or paused instance(s)${renamed.size === 0 ? "" : `: ${[...renamed].map(([k, n]) => `${n} ${k}`).join(", ")}`}`);
  if (r.atNextMessage > 0) lines.push(`${r.atNextMessage} running instance(s) ${r.dryRun ? "would move" : "move"} at their next message`);
  for (const f of r.refused) lines.push(`not moved: ${f.correlationId} in "${f.state}": ${f.reason}`);
  return lines.join("\n");
}
