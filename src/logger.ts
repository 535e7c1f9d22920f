/**
 * A small structured logger. Switchyard logs little: failovers, dead letters, journal problems, and
 * at debug level each processing. Records go to stderr as one line each (JSON with
 * `SWITCHYARD_LOG_FORMAT=json`), so stdout stays free for command output. A record about one
 * message carries the fields of `engine/log-fields.ts` (`correlationId`, `machine`, `state`,
 * `event`, `steps`, `retries`); the user context only when the logger says {@link Logger.logsContext}.
 */

export const LOG_LEVELS = ["debug", "info", "warn", "error", "silent"] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

/** What the library needs of a logger; pass your own (pino, winston) through this shape. */
export interface Logger {
  debug(message: string, fields?: Record<string, unknown>): void;
  info(message: string, fields?: Record<string, unknown>): void;
  warn(message: string, fields?: Record<string, unknown>): void;
  error(message: string, fields?: Record<string, unknown>): void;
  /**
   * Whether records at `level` are written (pino's name for it). Switchyard asks once, when an
   * engine is made, before it builds the fields of per-message debug records; a logger without it
   * gets them all.
   */
  isLevelEnabled?(level: LogLevel): boolean;
  /**
   * Add the user context (a `context` field) to the records about one message. Off unless set:
   * the user context may hold personal data (`--log-context`, `SWITCHYARD_LOG_CONTEXT=1`).
   */
  readonly logsContext?: boolean | undefined;
}

/** A logger that drops everything. */
export const silentLogger: Logger = { debug() {}, info() {}, warn() {}, error() {}, isLevelEnabled: () => false };

/** Options of {@link createLogger}. */
export interface LoggerOptions {
  /** One JSON object per line (default: `SWITCHYARD_LOG_FORMAT=json`). */
  readonly json?: boolean | undefined;
  /** Log the user context with per-message records (default: `SWITCHYARD_LOG_CONTEXT=1`). */
  readonly context?: boolean | undefined;
  /** Where each line goes (default: stderr). */
  readonly write?: ((line: string) => void) | undefined;
  /** Dresses each text record's `switchyard <level>:` prefix; JSON records are never styled. */
  readonly style?: ((level: LogLevel, prefix: string) => string) | undefined;
}

/**
 * A logger writing one line per record to a stream (stderr by default) at or above `level`
 * (default: `SWITCHYARD_LOG_LEVEL`, else `warn`). A JSON record is
 * `{"level", "time" (ISO 8601), "msg", ...fields}`; a text record is `switchyard <level>: msg`
 * followed by the fields as JSON. `style` dresses the text prefix (the CLI colours it on a terminal).
 *
 * @example
 * ```ts
 * const logger = createLogger("debug", { json: true });
 * logger.warn("attempt failed: boom", { correlationId: "order-7", machine: "order", state: "paid", steps: 3 });
 * // {"level":"warn","time":"2026-…Z","msg":"attempt failed: boom","correlationId":"order-7",…}
 * ```
 */
export function createLogger(level: LogLevel = parseLevel(process.env.SWITCHYARD_LOG_LEVEL), options: LoggerOptions = {}): Logger {
  const threshold = LOG_LEVELS.indexOf(level);
  const json = options.json ?? process.env.SWITCHYARD_LOG_FORMAT === "json";
  const logsContext = options.context ?? process.env.SWITCHYARD_LOG_CONTEXT === "1";
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
  return {
    debug: log("debug"),
    info: log("info"),
    warn: log("warn"),
    error: log("error"),
    isLevelEnabled: (at) => at !== "silent" && LOG_LEVELS.indexOf(at) >= threshold,
    logsContext,
  };
}

function parseLevel(value: string | undefined): LogLevel {
  return (LOG_LEVELS as readonly string[]).includes(value ?? "") ? (value as LogLevel) : "warn";
}
