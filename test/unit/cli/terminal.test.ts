/**
 * What the CLI writes to a terminal, byte for byte: the progress line and the log lines above it,
 * colour (a TTY, NO_COLOR, FORCE_COLOR), and plain lines when the stream is not a TTY.
 */
import { describe, expect, it } from "vitest";
import { table } from "../../../src/cli/format.js";
import { Terminal, colorEnabled, tableLayout } from "../../../src/cli/terminal.js";
import { createLogger } from "../../../src/logger.js";

/** A stand-in for a `tty.WriteStream` (or a pipe, with `isTTY: false`) that records every write. */
function recordingStream(isTTY: boolean, columns = 80) {
  const writes: string[] = [];
  return { isTTY, columns, writes, write: (text: string) => writes.push(text) };
}

const CLEAR = "\r\x1b[2K";
const YELLOW = (text: string) => `\x1b[33m${text}\x1b[39m`;

describe("Terminal on a TTY", () => {
  it("clears the progress line for a log line, writes it, and draws the progress line again", () => {
    const stream = recordingStream(true);
    const terminal = new Terminal(stream, { NO_COLOR: "1" });
    terminal.progress("processed 3 message(s) in 1.0s, 3 msg/s, 0 in flight");
    terminal.logger().warn("attempt failed", { correlation_id: "order-7" });
    terminal.progress("processed 5 message(s) in 2.0s, 2 msg/s, 1 in flight");
    terminal.clear();
    terminal.line("processed 5 message(s) in 2.1s");
    expect(stream.writes).toEqual([
      `${CLEAR}processed 3 message(s) in 1.0s, 3 msg/s, 0 in flight`,
      `${CLEAR}switchyard warn: attempt failed {"correlation_id":"order-7"}\nprocessed 3 message(s) in 1.0s, 3 msg/s, 0 in flight`,
      `${CLEAR}processed 5 message(s) in 2.0s, 2 msg/s, 1 in flight`,
      CLEAR,
      `${CLEAR}processed 5 message(s) in 2.1s\n`,
    ]);
  });

  it("keeps what actions print themselves (console.log to stdout, console.error to stderr) off the progress line, until released", () => {
    const log: string[] = [];
    const tty = (name: string) => ({ isTTY: true, columns: 80, write: (text: string) => log.push(`${name}:${text}`) > 0 });
    const stdout = tty("out");
    const stderr = tty("err");
    const pipe = { isTTY: false, write: (text: string) => log.push(`pipe:${text}`) > 0 };
    const terminal = new Terminal(stderr, { NO_COLOR: "1" });
    const release = terminal.adopt([stdout, stderr, pipe]);
    stdout.write("before any progress\n");
    terminal.progress("1 in flight");
    stdout.write("charged order-7\n");
    stderr.write("card service slow\n");
    stdout.write("partial ");
    pipe.write("to a file\n");
    terminal.progress("2 in flight");
    release();
    stdout.write("after release\n");
    expect(log).toEqual([
      "out:before any progress\n",
      `err:${CLEAR}1 in flight`,
      `err:${CLEAR}`,
      "out:charged order-7\n",
      "err:1 in flight",
      `err:${CLEAR}`,
      "err:card service slow\n",
      "err:1 in flight",
      `err:${CLEAR}`,
      "out:partial ",
      "pipe:to a file\n",
      `err:${CLEAR}2 in flight`,
      "out:after release\n",
    ]);
  });

  it("adopts nothing when its own stream is not a TTY", () => {
    const stdout = { isTTY: true, write: (_text: string) => true };
    const own = stdout.write;
    new Terminal({ isTTY: false, write: () => true }, {}).adopt([stdout]);
    expect(stdout.write).toBe(own);
  });

  it("colours the level of warnings yellow and errors red, and nothing else", () => {
    const stream = recordingStream(true);
    const terminal = new Terminal(stream, { TERM: "xterm-256color" });
    const logger = terminal.logger();
    logger.warn("journal slow");
    logger.error("failover");
    expect(stream.writes).toEqual([`${CLEAR}${YELLOW("switchyard warn:")} journal slow\n`, `${CLEAR}\x1b[31mswitchyard error:\x1b[39m failover\n`]);
  });

  it("cuts the progress line to the terminal's width, so it never wraps", () => {
    const stream = recordingStream(true, 20);
    new Terminal(stream, {}).progress("processed 12345 message(s) in 99.0s");
    expect(stream.writes).toEqual([`${CLEAR}processed 12345 me…`]);
  });
});

describe("colour", () => {
  it("is off with NO_COLOR set to anything non-empty, even with FORCE_COLOR", () => {
    const stream = recordingStream(true);
    new Terminal(stream, { NO_COLOR: "1", FORCE_COLOR: "1" }).logger().warn("x");
    expect(stream.writes).toEqual([`${CLEAR}switchyard warn: x\n`]);
    expect(colorEnabled(stream, { NO_COLOR: "" })).toBe(true);
    expect(colorEnabled(stream, { NO_COLOR: "0" })).toBe(false);
  });

  it("is on off a TTY with FORCE_COLOR, without a progress line or any other escape code", () => {
    const stream = recordingStream(false);
    const terminal = new Terminal(stream, { FORCE_COLOR: "1" });
    terminal.progress("processed 1 message(s)");
    terminal.logger().warn("x");
    terminal.clear();
    expect(stream.writes).toEqual([`${YELLOW("switchyard warn:")} x\n`]);
  });

  it("is off on a TTY with FORCE_COLOR=0 or false, and on a dumb terminal", () => {
    const tty = recordingStream(true);
    expect([colorEnabled(tty, { FORCE_COLOR: "0" }), colorEnabled(tty, { FORCE_COLOR: "false" }), colorEnabled(tty, { TERM: "dumb" }), colorEnabled(tty, {})]).toEqual([
      false,
      false,
      false,
      true,
    ]);
  });

  it("never dresses JSON log records", () => {
    const lines: string[] = [];
    createLogger("warn", { json: true, write: (line) => lines.push(line), style: (_, prefix) => `<${prefix}>` }).warn("x");
    expect(JSON.parse(lines[0] ?? "")).toMatchObject({ level: "warn", msg: "x" });
  });
});

describe("Terminal off a TTY", () => {
  it("draws no progress line and writes log lines plainly", () => {
    const stream = recordingStream(false);
    const terminal = new Terminal(stream, {});
    terminal.progress("processed 1 message(s)");
    terminal.logger().warn("attempt failed");
    terminal.clear();
    terminal.line("processed 1 message(s) in 0.5s");
    expect(stream.writes).toEqual(["switchyard warn: attempt failed\n", "processed 1 message(s) in 0.5s\n"]);
  });
});

describe("tables on stdout", () => {
  const header = ["correlation_id", "status", "state", "reason"];
  const rows = [
    ["order-7", "failed", "charging", "charging.do_action ./actions.ts#Charge threw: card declined by the issuing bank"],
    ["order-8", "completed", "done", ""],
  ];

  it("cut the free-text columns with … so a row fits a TTY's width, never the ids, states or statuses", () => {
    const text = table(header, rows, tableLayout({}, recordingStream(true, 60), { NO_COLOR: "1" }));
    expect(text.split("\n")).toEqual([
      "correlation_id  status     state     reason",
      "order-7         failed     charging  charging.do_action ./a…",
      "order-8         completed  done",
    ]);
    expect(Math.max(...text.split("\n").map((line) => line.length))).toBe(60);
  });

  it("are printed in full with --wide, and off a TTY", () => {
    const full = table(header, rows);
    expect(full.split("\n")[1]).toBe("order-7         failed     charging  charging.do_action ./actions.ts#Charge threw: card declined by the issuing bank");
    expect(table(header, rows, tableLayout({ wide: true }, recordingStream(true, 60), { NO_COLOR: "1" }))).toBe(full);
    expect(table(header, rows, tableLayout({}, recordingStream(false, 60), {}))).toBe(full);
  });

  it("leave a row of ids wider than the terminal as it is, and keep a cut column at least 12 wide", () => {
    const text = table(["correlation_id", "why"], [["a-very-long-correlation-id-0123456789", "no activity for 10m"]], { width: 30 });
    expect(text.split("\n")).toEqual(["correlation_id                         why", "a-very-long-correlation-id-0123456789  no activity…"]);
  });

  it("cut the widest free-text column first", () => {
    const text = table(["id", "reason", "user_context"], [["1", "short reason", `{"note":"${"x".repeat(40)}"}`]], { width: 50 });
    expect(text.split("\n")[1]).toBe(`1   short reason  {"note":"${"x".repeat(22)}…`);
  });

  it("colour the status cells, padded as if uncoloured", () => {
    const text = table(header, rows, tableLayout({ wide: true }, recordingStream(true, 60), {}));
    expect(text.split("\n").slice(1)).toEqual([
      "order-7         \x1b[31mfailed\x1b[39m     charging  charging.do_action ./actions.ts#Charge threw: card declined by the issuing bank",
      "order-8         \x1b[32mcompleted\x1b[39m  done",
    ]);
  });
});
