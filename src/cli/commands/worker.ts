import type { Command } from "commander";
import { type MetricsServer, WorkerMetrics, serveMetrics } from "../../client/prometheus.js";
import type { Switchyard } from "../../client/switchyard.js";
import type { Worker, WorkerStats } from "../../client/worker.js";
import { timerOf } from "../../core/transitions.js";
import { definitionsOption, examples, onStopSignals, portNumber, positiveInt, positiveNumber, settingsOption, withSwitchyard } from "../common.js";
import { Terminal } from "../terminal.js";

interface WorkerFlags {
  definitions: string;
  settings?: string;
  concurrency: number;
  untilIdle?: boolean;
  shutdownTimeout: number;
  quiet?: boolean;
  metricsPort?: number;
  metricsHost: string;
}

/** `switchyard worker`: process the stream and due retries until stopped. */
export function workerCommand(program: Command): void {
  const command = program
    .command("worker")
    .description("process stream messages and due retries until SIGINT/SIGTERM (or, with --until-idle, until no work is left)")
    .addOption(definitionsOption())
    .addOption(settingsOption())
    .option("-n, --concurrency <n>", "messages processed at once", positiveInt("--concurrency"), 32)
    .option("--until-idle", "exit once nothing is left to process (delayed retries included, the timers of waiting instances not)")
    .option(
      "--shutdown-timeout <seconds>",
      "on SIGINT/SIGTERM, wait this long for in-flight messages, then hand them back for redelivery and exit",
      positiveNumber("--shutdown-timeout"),
      30,
    )
    .option("-q, --quiet", "no progress output")
    .option("--metrics-port <port>", "serve Prometheus metrics on http://HOST:PORT/metrics (0 picks a free port)", portNumber("--metrics-port"))
    .option("--metrics-host <host>", "address the metrics endpoint binds to; metrics carry no payloads", "127.0.0.1")
    .action(async (flags: WorkerFlags) => {
      const terminal = new Terminal();
      const logger = terminal.logger();
      // With --log-format json stderr holds JSON lines only: the worker's own lines (the metrics
      // address, progress, the summary, signals) become info records.
      const json = process.env.SWITCHYARD_LOG_FORMAT === "json";
      const say: Say = json ? (line) => logger.info(line) : (line) => terminal.line(line);
      const stats = await withSwitchyard(
        flags,
        async (sy) => {
          const metrics = flags.metricsPort === undefined ? undefined : await WorkerMetrics.create();
          const server: MetricsServer | undefined =
            metrics === undefined ? undefined : await serveMetrics(metrics.registry, { port: flags.metricsPort as number, host: flags.metricsHost });
          if (server !== undefined) say(`metrics on ${server.url}`);
          const worker = sy.worker({
            concurrency: flags.concurrency,
            shutdownTimeoutSeconds: flags.shutdownTimeout,
            stopWhenIdle: flags.untilIdle ? () => idle(sy) : undefined,
            metrics,
          });
          const stopSignals = handleSignals(worker, flags.shutdownTimeout, say);
          const progress = flags.quiet ? undefined : startProgress(worker.stats, terminal, json ? say : undefined);
          // What actions print themselves (console.log) goes above the progress line too.
          const release = progress === undefined ? undefined : terminal.adopt();
          try {
            const stats = await worker.run();
            progress?.stop();
            if (!flags.quiet) say(summary(stats));
            return stats;
          } finally {
            release?.();
            stopSignals();
            await server?.close();
          }
        },
        { logger },
      );
      // Actions of messages handed back at the shutdown timeout are still running, and would keep
      // the process alive until they end only to have their results discarded: the work is over,
      // the backends are closed, so leave now.
      if (stats.abandoned > 0) process.exit(0);
    });
  examples(command, [
    "worker -d fsm.yaml",
    "worker -d fsm.yaml -s prod.settings.yaml --concurrency 64 --shutdown-timeout 60",
    "worker -d fsm.yaml --until-idle -q",
    "worker -d fsm.yaml --metrics-port 9464 --metrics-host 0.0.0.0",
  ]);
}

/**
 * Nothing is left to process but the timers of instances that wait. The timer of a state with
 * `after: 48h` is a message pending for 48 hours; waiting it out is not what "until idle" means,
 * while a retry's backoff is. The sources cannot tell a timer from other delayed messages, so the
 * pending messages are compared with the instances the journal shows waiting (or paused while
 * waiting) in a state with a timer: each has its timer pending, and anything beyond is work.
 */
async function idle(sy: Switchyard): Promise<boolean> {
  const pending = await sy.pending();
  if (pending === 0 || sy.roles.journal === undefined) return pending === 0;
  const resting = [...(await sy.list({ status: "waiting" })), ...(await sy.list({ status: "paused" })).filter((r) => r.pausedStatus === "waiting")];
  const timers = resting.filter((record) => {
    const machine = sy.definitions.machines.get(record.machineName);
    return machine !== undefined && timerOf(machine, record.state) !== undefined;
  }).length;
  return pending <= timers;
}

/**
 * First SIGINT/SIGTERM: finish in-flight messages (up to the shutdown timeout, then hand them back)
 * and exit; second: exit at once.
 */
function handleSignals(worker: Worker, timeoutSeconds: number, say: Say): () => void {
  return onStopSignals(
    worker,
    (signal) =>
      `${signal}: finishing ${worker.stats.inFlight} in-flight message(s) (handing them back after ${timeoutSeconds} s); send it again to exit at once`,
    (signal) => `${signal} again: exiting now; unfinished messages will be delivered again`,
    say,
  );
}

/** Where the worker command's own lines go: the terminal, or the logger as info records. */
type Say = (line: string) => void;

/**
 * A status line, redrawn each second on a TTY (log lines scroll above it) and printed every 10 s
 * elsewhere, or through `say` (the logger) when given.
 */
function startProgress(stats: WorkerStats, terminal: Terminal, say?: Say) {
  const tty = terminal.tty && say === undefined;
  let last = stats.processed;
  let lastAt = Date.now();
  const timer = setInterval(
    () => {
      const now = Date.now();
      const rate = ((stats.processed - last) * 1000) / Math.max(1, now - lastAt);
      last = stats.processed;
      lastAt = now;
      const line = `${summary(stats)}, ${rate.toFixed(0)} msg/s, ${stats.inFlight} in flight`;
      if (tty) terminal.progress(line);
      else if (say !== undefined) say(line);
      else terminal.line(line);
    },
    tty ? 1000 : 10_000,
  );
  timer.unref();
  return {
    stop() {
      clearInterval(timer);
      terminal.clear();
    },
  };
}

function summary(stats: WorkerStats): string {
  const outcomes = Object.entries(stats.outcomes)
    .map(([kind, n]) => `${kind} ${n}`)
    .join(", ");
  const seconds = ((Date.now() - stats.startedAt) / 1000).toFixed(1);
  return `processed ${stats.processed} message(s) in ${seconds}s${outcomes ? ` (${outcomes})` : ""}${stats.unfinished ? `, ${stats.unfinished} left for redelivery` : ""}`;
}
