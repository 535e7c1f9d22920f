import type { Command } from "commander";
import { DASHBOARD_TOKEN_ENV, serveDashboard } from "../../dashboard/server.js";
import { createLogger } from "../../logger.js";
import { examples, optionalDefinitionsOption, portNumber, settingsOption, withSwitchyard } from "../common.js";

interface DashboardFlags {
  definitions?: string;
  settings?: string;
  port: number;
  host: string;
  token?: string;
  readOnly?: boolean;
}

/** `switchyard dashboard`: the web dashboard until SIGINT/SIGTERM. */
export function dashboardCommand(program: Command): void {
  const command = program
    .command("dashboard")
    .description("serve a web dashboard of machines and instances (live diagrams, list, history, actions) until SIGINT/SIGTERM")
    .addOption(optionalDefinitionsOption("machines not yet deployed are drawn from it (deployed versions come from the definition registry)"))
    .addOption(settingsOption())
    .option("-p, --port <port>", "port to listen on (0 picks a free one)", portNumber("--port"), 8080)
    .option("--host <host>", "address to bind; any beyond 127.0.0.1/localhost needs --token", "127.0.0.1")
    .option("--token <secret>", `required on every request (default: ${DASHBOARD_TOKEN_ENV}); open /?token=<secret> once in the browser`)
    .option("--read-only", "show everything, change nothing: no abort, pause, resume, send, recover or redrive")
    .action(async (flags: DashboardFlags) => {
      const token = flags.token ?? process.env[DASHBOARD_TOKEN_ENV];
      await withSwitchyard(
        flags,
        async (sy) => {
          const dashboard = await serveDashboard(sy, { port: flags.port, host: flags.host, token, readOnly: flags.readOnly, logger: createLogger() });
          const shown = token === undefined ? dashboard.url : `${dashboard.url}?token=<token>`;
          process.stderr.write(`dashboard on ${shown}${flags.readOnly ? " (read-only)" : ""}; Ctrl-C stops it\n`);
          await new Promise<void>((resolve) => {
            const stop = (signal: NodeJS.Signals) => {
              process.stderr.write(`${signal}: stopping the dashboard\n`);
              resolve();
            };
            process.once("SIGINT", stop);
            process.once("SIGTERM", stop);
          });
          await dashboard.close();
        },
        { existingStore: true },
      );
    });
  examples(command, [
    "dashboard",
    "dashboard -d fsm.yaml -s prod.settings.yaml --port 9000",
    "dashboard --host 0.0.0.0 --token \"$(openssl rand -hex 16)\" --read-only",
  ]);
}
