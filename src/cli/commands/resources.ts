/**
 * `switchyard resources create`: create the queues, streams, topics and tables the settings name
 * (on AWS or on emulators), idempotently, without running the engine.
 */
import type { Command } from "commander";
import { provisionAll } from "../../settings/provision.js";
import { loadSettings } from "../../settings/settings.js";
import { examples, printJson, settingsOption } from "../common.js";

interface ResourcesFlags {
  settings?: string;
  json?: boolean;
}

/** `switchyard resources create`. */
export function resourcesCommand(program: Command): void {
  const resources = program.command("resources").description("manage the resources the settings name (AWS queues, streams, topics and tables; PostgreSQL schemas)");
  const create = resources
    .command("create")
    .description("create the queues, streams, topics and tables the settings name that do not exist yet (idempotent)")
    .addOption(settingsOption())
    .option("--json", "print [{uri, lines}] as JSON")
    .action(async (flags: ResourcesFlags) => {
      const settings = loadSettings({ file: flags.settings });
      const reports = await provisionAll(settings, flags.json ? undefined : (report) => {
        for (const line of report.lines) process.stdout.write(`${report.uri}: ${line}\n`);
      });
      if (flags.json) printJson(reports);
    });
  examples(create, ["resources create", "resources create -s aws.settings.yaml --json"]);
  examples(resources, ["resources create", "resources create -s aws.settings.yaml"]);
  resources.exitOverride();
}
