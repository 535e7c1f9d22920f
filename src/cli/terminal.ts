/**
 * What the CLI writes to a terminal: whether to colour (a TTY, `NO_COLOR`, `FORCE_COLOR`), the
 * one progress line that `worker` keeps at the bottom of stderr while log lines scroll above it,
 * and how tables fit stdout's width.
 */
import { type LogLevel, type Logger, createLogger } from "../logger.js";
import type { TableLayout } from "./format.js";

/** The part of a `tty.WriteStream` (or any stream) the terminal output needs. */
export interface TerminalStream {
  write(text: string): unknown;
  readonly isTTY?: boolean | undefined;
  readonly columns?: number | undefined;
}

/** A stream whose writes {@link Terminal.adopt} can route: `process.stdout`, `process.stderr`. */
export interface AdoptableStream {
  write: (chunk: never, ...rest: never[]) => boolean;
  readonly isTTY?: boolean | undefined;
}

/** The environment variables that decide colour. */
export type ColorEnv = Readonly<Record<string, string | undefined>>;

/** `\r` back to the line's start, then erase the whole line. */
const CLEAR_LINE = "\r\x1b[2K";

/**
 * Whether to colour what goes to `stream`: never when `NO_COLOR` is set to anything non-empty
 * (https://no-color.org), always when `FORCE_COLOR` is non-empty and not `0` or `false`, otherwise
 * on a TTY whose `TERM` is not `dumb`. `NO_COLOR` wins over `FORCE_COLOR`: a user's refusal of
 * colour is the stronger wish.
 */
export function colorEnabled(stream: TerminalStream, env: ColorEnv = process.env): boolean {
  if (env.NO_COLOR) return false;
  const force = env.FORCE_COLOR;
  if (force) return force !== "0" && force !== "false";
  return stream.isTTY === true && env.TERM !== "dumb";
}

/** SGR colours, each a function that wraps a text, or returns it as it is when colour is off. */
export interface Palette {
  readonly red: (text: string) => string;
  readonly green: (text: string) => string;
  readonly yellow: (text: string) => string;
}

/** The colours for `stream` ({@link colorEnabled} decides whether they colour). */
export function palette(stream: TerminalStream, env: ColorEnv = process.env): Palette {
  if (!colorEnabled(stream, env)) return { red: same, green: same, yellow: same };
  const sgr = (code: number) => (text: string) => `\x1b[${code}m${text}\x1b[39m`;
  return { red: sgr(31), green: sgr(32), yellow: sgr(33) };
}

function same(text: string): string {
  return text;
}

/**
 * A status as it reads best: ended badly (`failed`, `aborted`) in red, `completed` in green, held
 * (`paused`) in yellow, the rest as it is. Looks at the first word, so `paused (running, 1 parked)`
 * and `running (abort requested)` are coloured by what they are.
 */
export function paintStatus(colors: Palette, text: string): string {
  const status = /^\w+/.exec(text)?.[0];
  if (status === "failed" || status === "aborted") return colors.red(text);
  if (status === "completed") return colors.green(text);
  if (status === "paused") return colors.yellow(text);
  return text;
}

/**
 * stderr as the long-running commands use it. On a TTY one progress line stays at the bottom: a
 * log line clears it, is written, and the progress line is drawn again below it, so the two never
 * share a line. Elsewhere (a pipe, a file, a log collector) there is no progress line and no
 * escape code: lines are written as they come.
 */
export class Terminal {
  readonly tty: boolean;
  readonly colors: Palette;
  /** The stream's own write: {@link adopt} may replace the stream's `write` with one that calls this. */
  readonly #write: (text: string) => unknown;
  readonly #stream: TerminalStream;
  #progress = "";

  constructor(stream: TerminalStream = process.stderr, env: ColorEnv = process.env) {
    this.#stream = stream;
    this.#write = stream.write.bind(stream);
    this.tty = stream.isTTY === true;
    this.colors = palette(stream, env);
  }

  /**
   * Write one line (without its newline) above the progress line. On a TTY the current line is
   * cleared first: it holds the progress line, or the `^C` the terminal echoed for a signal.
   */
  line(text: string): void {
    if (!this.tty) {
      this.#write(`${text}\n`);
      return;
    }
    // One write, so the line and the redrawn progress reach the screen together.
    this.#write(`${CLEAR_LINE}${text}\n${this.#progress}`);
  }

  /**
   * Show `text` as the progress line, in place of the last one; cut to the terminal's width so it
   * never wraps (a wrapped line could not be cleared). Does nothing when stderr is not a TTY.
   */
  progress(text: string): void {
    if (!this.tty) return;
    const columns = this.#stream.columns;
    this.#progress = columns !== undefined && columns > 1 && text.length >= columns ? `${text.slice(0, columns - 2)}…` : text;
    this.#write(`${CLEAR_LINE}${this.#progress}`);
  }

  /**
   * Route what anything else writes to `streams` (an action's `console.log`, `console.error`)
   * around the progress line too: the line is cleared before such a write and drawn again after
   * it once it ends a line. Only TTY streams, and only while a progress line shows; returns the
   * function that puts the streams' own `write` back.
   */
  adopt(streams: readonly AdoptableStream[] = [process.stdout, process.stderr]): () => void {
    if (!this.tty) return () => {};
    const restore: Array<() => void> = [];
    for (const stream of streams) {
      if (stream.isTTY !== true) continue;
      const own = stream.write;
      const write = own.bind(stream) as (chunk: unknown, ...rest: unknown[]) => boolean;
      stream.write = ((chunk: unknown, ...rest: unknown[]) => {
        if (this.#progress === "") return write(chunk, ...rest);
        this.#write(CLEAR_LINE);
        const written = write(chunk, ...rest);
        const text = typeof chunk === "string" ? chunk : chunk instanceof Uint8Array ? Buffer.from(chunk).toString("utf8") : "";
        if (text.endsWith("\n")) this.#write(this.#progress);
        return written;
      }) as AdoptableStream["write"];
      restore.push(() => {
        stream.write = own;
      });
    }
    return () => {
      for (const undo of restore) undo();
    };
  }

  /** Remove the progress line, leaving the cursor at the start of the empty line. */
  clear(): void {
    if (this.#progress === "") return;
    this.#progress = "";
    this.#write(CLEAR_LINE);
  }

  /**
   * A logger (level and format from the environment, as {@link createLogger} reads them) whose
   * lines go above the progress line, the `switchyard warn:` prefix yellow and `switchyard error:` red.
   */
  logger(): Logger {
    const style = (level: LogLevel, prefix: string) => (level === "error" ? this.colors.red(prefix) : level === "warn" ? this.colors.yellow(prefix) : prefix);
    return createLogger(undefined, { write: (line) => this.line(line), style });
  }
}

/**
 * How a table goes to `stream` (stdout): on a TTY cut to its width, unless `--wide`, and the
 * status column coloured as {@link colorEnabled} allows. Off a TTY, in full and without escape codes.
 */
export function tableLayout(flags: { readonly wide?: boolean | undefined }, stream: TerminalStream = process.stdout, env: ColorEnv = process.env): TableLayout {
  const colors = palette(stream, env);
  const width = stream.isTTY === true && flags.wide !== true ? stream.columns : undefined;
  return { width, paint: (column, cell) => (column === "status" ? paintStatus(colors, cell) : cell) };
}
