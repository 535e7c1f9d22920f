/**
 * A small structured logger. Switchyard logs little: failovers, dead letters, journal problems.
 * Records go to stderr as one line each (JSON with `SWITCHYARD_LOG_FORMAT=json`), so stdout stays
 * free for command output.
 */

export const LOG_LEVELS = ["debug", "info", "warn", "error", "silent"] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

/** What the library needs of a logger; pass your own (pino, winston) through this shape. */
export interface Logger {
  debug(message: string, fields?: Record<string, unknown>): void;
  info(message: string, fields?: Record<string, unknown>): void;
  warn(message: string, fields?: Record<string, unknown>): void;
  error(message: string, fields?: Record<string, unknown>): void;
}

/** A logger that drops everything. */
export const silentLogger: Logger = { debug() {}, info() {}, warn() {}, error() {} };

/**
 * A logger writing one line per record to a stream (stderr by default) at or above `level`.
 * `style` dresses each text record's `switchyard <level>:` prefix (the CLI colours it on a
 * terminal); JSON records are never styled.
 */
export function createLogger(
  level: LogLevel = parseLevel(process.env.SWITCHYARD_LOG_LEVEL),
  options: { json?: boolean; write?: (line: string) => void; style?: (level: LogLevel, prefix: string) => string } = {},
): Logger {
  const threshold = LOG_LEVELS.indexOf(level);
  const json = options.json ?? process.env.SWITCHYARD_LOG_FORMAT === "json";
  const write = options.write ?? ((line: string) => process.stderr.write(`${line}\n`));
  const log = (at: LogLevel) => (message: string, fields?: Record<string, unknown>) => {
    if (LOG_LEVELS.indexOf(at) < threshold) return;
    if (json) {
      write(JSON.stringify({ level: at, time: new Date().toISOString(), msg: message, ...fields }));
      return;
    }
    const extra = fields && Object.keys(fields).length > 0 ? ` ${JSON.stringify(fields)}` : "";
    const prefix = `switchyard ${at}:`;
    write(`${options.style === undefined ? prefix : options.style(at, prefix)} ${message}${extra}`);
  };
  return { debug: log("debug"), info: log("info"), warn: log("warn"), error: log("error") };
}

function parseLevel(value: string | undefined): LogLevel {
  return (LOG_LEVELS as readonly string[]).includes(value ?? "") ? (value as LogLevel) : "warn";
}
