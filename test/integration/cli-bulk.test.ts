/**
 * Bulk start (`start --from`, `start --count`) and list paging (`list --after`) as a user runs
 * them: real processes on one SQLite store, kept to a handful of spawns; the refusals that need no
 * store run in this process through `main`.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { main } from "../../src/cli/main.js";
import { ROOT, runCli } from "../support/cli.js";

const FSM = path.join(ROOT, "test/fixtures/protocol/fsm.yaml");

describe("switchyard start --from / --count and list --after", () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(path.join(tmpdir(), "switchyard-bulk-"));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  const cli = (args: string[], input?: string) => runCli(args, { cwd: dir, input });

  it("starts one instance per line of a file; a malformed line and a taken id fail alone, by line number", async () => {
    const lines = Array.from({ length: 50 }, (_, i) => JSON.stringify({ machine: "simple", context: { n: i + 1 }, correlation_id: `order-${i + 1}` }));
    lines[16] = '{"machine": "simple", "context": {"n": 17}';
    lines[39] = JSON.stringify({ machine: "simple", correlation_id: "order-1" });
    // A blank line is no item, but it counts for the line numbers after it.
    writeFileSync(path.join(dir, "orders.jsonl"), `${lines.slice(0, 10).join("\n")}\n\n${lines.slice(10).join("\n")}\n`);
    const result = await cli(["start", "-d", FSM, "--from", "orders.jsonl"]);
    const started = Array.from({ length: 50 }, (_, i) => `order-${i + 1}`).filter((id) => id !== "order-17" && id !== "order-40");
    expect(result.stdout).toBe(started.map((id) => `${id}\n`).join(""));
    expect(result.stderr.split("\n")).toEqual([
      // The parser's own words vary with the Node.js version.
      expect.stringMatching(/^line 18: not valid JSON \(.+\); each line is one object \{"machine": …, "context": \{…\}, "correlation_id": …\}$/),
      'line 41: an instance with correlation id "order-1" already exists (started earlier in this batch); choose another id',
      "started 48 of 50; 2 failed",
      "",
    ]);
    expect(result.code).toBe(1);
  });

  it("starts N instances of one machine with one context, printing a JSON line per item", async () => {
    const result = await cli(["start", "simple", "-d", FSM, "--count", "3", "--context", '{"batch": "b"}', "--json"]);
    expect([result.code, result.stderr]).toEqual([0, "started 3 of 3\n"]);
    const items = result.stdout.trimEnd().split("\n").map((line) => JSON.parse(line));
    expect(items).toEqual([1, 2, 3].map((item) => ({ item, ok: true, correlation_id: expect.stringMatching(/^[0-9a-f]{32}$/), role: "stream", side: "primary" })));
  });

  it("reads --from - on stdin; --json reports a failed item with its line and code, and the exit code is 1", async () => {
    const result = await cli(["start", "-d", FSM, "--from", "-", "--json"], '{"machine": "simple", "correlation_id": "piped-1"}\n{"machine": "nope", "correlation_id": "piped-2"}\n');
    expect([result.code, result.stderr]).toEqual([1, "started 1 of 2; 1 failed\n"]);
    expect(result.stdout.trimEnd().split("\n").map((line) => JSON.parse(line))).toEqual([
      { line: 1, ok: true, correlation_id: "piped-1", role: "stream", side: "primary" },
      { line: 2, ok: false, correlation_id: "piped-2", error: expect.stringMatching(/^unknown machine "nope" in .*fsm\.yaml; known machines: simple, /), code: "unknown_machine" },
    ]);
  });

  it("pages the list: the line after a page gives the next page's command, and no instance is skipped or repeated", async () => {
    // 48 of the instances were claimed in one batch, so they share a start time: ties decide the pages.
    const first = await cli(["list", "--machine", "simple", "--limit", "30"]);
    expect(first.code, first.stderr).toBe(0);
    const rows = first.stdout.trimEnd().split("\n").slice(1);
    expect(rows).toHaveLength(30);
    const [, command = "", cursor = ""] =
      /^showing 30 instances; more follow\. Next page: switchyard (list --machine simple --limit 30 --after (\d+~[A-Za-z0-9._:-]+))\n$/.exec(first.stderr) ?? [];
    expect(command, first.stderr).not.toBe("");
    // The cursor is the page's last instance.
    expect(cursor.split("~")[1]).toBe(rows[29]?.split(/\s+/)[0]);
    const second = await cli([...command.split(" "), "--json"]);
    expect([second.code, second.stderr]).toEqual([0, ""]);
    const rest = JSON.parse(second.stdout) as Array<{ correlation_id: string; started_at: string; cursor: string }>;
    // 48 from the file, 3 counted and 1 piped: 52 in all, 22 on the second (last) page.
    expect(rest).toHaveLength(22);
    const ids = [...rows.map((row) => row.split(/\s+/)[0]), ...rest.map((r) => r.correlation_id)];
    expect(new Set(ids).size).toBe(52);
    expect(rest.map((r) => r.cursor)).toEqual(rest.map((r) => `${Date.parse(r.started_at)}~${r.correlation_id}`));
    expect(ids.filter((id) => id?.startsWith("order-"))).toEqual(
      Array.from({ length: 50 }, (_, i) => `order-${i + 1}`)
        .filter((id) => id !== "order-17" && id !== "order-40")
        .sort(),
    );
  });

  describe("refusals, one line each, before anything is opened", () => {
    async function refused(...args: string[]): Promise<string> {
      let stderr = "";
      const write = vi.spyOn(process.stderr, "write").mockImplementation((chunk) => {
        stderr += String(chunk);
        return true;
      });
      try {
        expect(await main(["node", "switchyard", ...args])).toBe(1);
      } finally {
        write.mockRestore();
      }
      return stderr;
    }

    it("refuses combinations of start that cannot mean one thing, and list cursors it did not print", async () => {
      expect(await refused("start", "-d", FSM)).toBe(
        'switchyard: name the machine to start, e.g. switchyard start order -d fsm.yaml; or give --from <file> with one {"machine": …} per line\n',
      );
      expect(await refused("start", "simple", "-d", FSM, "--from", "x.jsonl")).toBe(
        'switchyard: give either <machine> or --from, not both: each line of --from names its machine, e.g. {"machine": "simple"}\n',
      );
      expect(await refused("start", "-d", FSM, "--from", "x.jsonl", "--correlation-id", "a")).toBe(
        'switchyard: --correlation-id names one instance; with --from, give each line its own "correlation_id"\n',
      );
      expect(await refused("start", "-d", FSM, "--from", "x.jsonl", "--count", "2")).toBe(
        "switchyard: --count starts N instances of <machine> and --from one per line of a file: give one of them\n",
      );
      expect(await refused("start", "simple", "-d", FSM, "--count", "2", "--correlation-id", "a")).toBe(
        'switchyard: --correlation-id names one instance, so it does not go with --count; to choose the ids, use --from with a "correlation_id" per line\n',
      );
      expect(await refused("start", "-d", FSM, "--from", path.join(dir, "missing.jsonl"))).toMatch(/^switchyard: cannot read --from .*missing\.jsonl: ENOENT: .*; give a JSON Lines file, or - for standard input\n$/);
      expect(await refused("list", "--after", "42")).toBe(
        'switchyard: "42" is not a list cursor (<started-at ms>~<correlation id>, e.g. 1765042554123~order-42); pass the cursor the previous page ended with\n',
      );
      expect(await refused("list", "--stalled", "--after", "1~a")).toBe(
        "switchyard: --after pages the listing of all instances, not --stalled; raise --limit to see more stalled ones\n",
      );
    });
  });
});
