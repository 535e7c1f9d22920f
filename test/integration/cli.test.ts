/** The CLI as a user runs it: real processes, real files, exit codes and output. */
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ROOT, runCli } from "../support/cli.js";
import { MEMCACHED_URL, needs, REDIS_URL } from "../support/servers.js";

const FSM = path.join(ROOT, "test/fixtures/protocol/fsm.yaml");

describe("switchyard CLI", () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(path.join(tmpdir(), "switchyard-cli-"));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  const cli = (...args: string[]) => runCli(args, { cwd: dir });

  it("commands that read or operate on instances never create a store: a missing one is one line naming its path", async () => {
    const empty = mkdtempSync(path.join(tmpdir(), "switchyard-empty-"));
    try {
      const store = path.join(empty, ".switchyard", "switchyard.db");
      for (const args of [["status", "nope"], ["history", "nope"], ["list"], ["dead-letters"], ["pauses"], ["resume", "nope"]]) {
        const result = await runCli(args, { cwd: empty });
        expect([result.code, result.stdout, result.stderr], args.join(" ")).toEqual([
          1,
          "",
          `switchyard: no Switchyard store at ${store} (sqlite:.switchyard/switchyard.db, from the default settings); run this where the instances were started, or pass --settings\n`,
        ]);
      }
      expect(existsSync(path.join(empty, ".switchyard"))).toBe(false);
    } finally {
      rmSync(empty, { recursive: true, force: true });
    }
  });

  it("resources create asks a Redis or Memcached server it has nothing to create on, and a server it cannot reach is an error", needs("memcached", "redis"), async () => {
    const settingsFor = (cache: string) => {
      const file = path.join(dir, `cache-${Math.random().toString(36).slice(2)}.yaml`);
      writeFileSync(file, `stream: sqlite:./resources.db\njournal: sqlite:./resources.db\ncache: ${cache}\n`);
      return file;
    };
    const live = await cli("resources", "create", "--settings", settingsFor(`{primary: "${MEMCACHED_URL}", secondary: "${REDIS_URL}"}`));
    expect(live.code, live.stderr).toBe(0);
    expect(live.stdout).toContain(`${MEMCACHED_URL}: nothing to create (the server answers)\n`);
    expect(live.stdout).toContain(`${REDIS_URL}: nothing to create (the server answers)\n`);
    const deadMemcached = await cli("resources", "create", "--settings", settingsFor("memcached://127.0.0.1:1?timeout_ms=500"));
    expect([deadMemcached.code, deadMemcached.stderr]).toEqual([
      1,
      "switchyard: cannot create the resources of memcached://127.0.0.1:1?timeout_ms=500: cannot reach Memcached at 127.0.0.1:1 (ECONNREFUSED); check the memcached:// URI and that the server runs; check the endpoint and credentials\n",
    ]);
    const deadRedis = await cli("resources", "create", "--settings", settingsFor("redis://127.0.0.1:1/0?timeout_ms=500"));
    expect(deadRedis.code).toBe(1);
    // The connection's own warning comes first; the last line is the refusal.
    expect(deadRedis.stderr.trimEnd().split("\n").at(-1)).toMatch(/^switchyard: cannot create the resources of redis:\/\/127\.0\.0\.1:1\/0\?timeout_ms=500: .*127\.0\.0\.1:1/);
    expect(deadRedis.stdout).not.toContain("redis://127.0.0.1:1/0");
  });

  it("run --json prints exactly the result contract", async () => {
    const result = await cli("run", "simple", "-d", FSM, "--json", "--context", '{"fail":["1:0"]}', "--correlation-id", "order-1");
    expect(result.code, result.stderr).toBe(0);
    const output = JSON.parse(result.stdout);
    expect(Object.keys(output).sort()).toEqual(["attempts", "correlation_id", "errors", "machine_name", "messages", "state", "status", "user_context"]);
    const fail = ["1:0"];
    const at = expect.any(Number);
    expect(output).toEqual({
      correlation_id: "order-1",
      machine_name: "simple",
      status: "completed",
      state: "end",
      user_context: { fail, count: 2 },
      messages: [
        { current_state: "pseudo_init", current_event: "pseudo_init", steps: 0, retries: 0, user_context: { fail }, role: "stream", side: "primary", at },
        { current_state: "start", current_event: "go", steps: 1, retries: 0, user_context: { fail, count: 1 }, role: "stream", side: "primary", at },
        { current_state: "start", current_event: "go", steps: 1, retries: 1, user_context: { fail, count: 1 }, role: "retry", side: "primary", at },
        { current_state: "middle", current_event: "go", steps: 2, retries: 0, user_context: { fail, count: 2 }, role: "stream", side: "primary", at },
      ],
      attempts: [
        {
          at,
          current_state: "start",
          current_event: "go",
          steps: 1,
          retries: 0,
          outcome: "retry",
          state: "middle",
          slot: "do_action",
          event: "go",
          action: "./actions.ts#Go",
          where: "middle.do_action ./actions.ts#Go",
          error_name: "Error",
          error: "injected failure at steps 1, retries 0",
          stack: expect.stringMatching(/^at maybeFail \(.*actions\.ts:\d+:\d+\)\n/),
        },
      ],
      errors: [{ counters: { retry: 1 }, dimensions: { machine_name: "simple", current_state: "start", current_event: "go" } }],
    });
    // Times from one clock, in order.
    const times = output.messages.map((m: { at: number }) => m.at);
    expect([...times].sort((a, b) => a - b)).toEqual(times);
  });

  it("run of an instance that fails for good exits 1 with status failed", async () => {
    const result = await cli("run", "simple", "-d", FSM, "--json", "--context", '{"fail":["0:0","0:1","0:2"]}', "--correlation-id", "failed-1");
    expect(result.code).toBe(1);
    const output = JSON.parse(result.stdout);
    expect(output.status).toBe("failed");
    expect(output.errors.map((e: { counters: unknown }) => e.counters)).toEqual([{ retry: 1 }, { retry: 1 }, { fatal: 1 }]);
  });

  it("a failure says what failed: status names the action, history shows every attempt between the messages", async () => {
    // The instance that failed for good above: its message is (pseudo_init, pseudo_init), start's do_action threw.
    const what = (retries: number) => `start.do_action ./actions.ts#Go threw: injected failure at steps 0, retries ${retries}`;
    const status = await cli("status", "failed-1");
    expect(status.code, status.stderr).toBe(0);
    expect(status.stdout).toContain(`status:         failed (gave up after 2 retries: ${what(2)})\n`);
    expect(JSON.parse((await cli("status", "failed-1", "--json")).stdout)).toMatchObject({ status: "failed", state: "pseudo_init", reason: `gave up after 2 retries: ${what(2)}` });

    const history = await cli("history", "failed-1");
    expect(history.code, history.stderr).toBe(0);
    const time = String.raw`\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z`;
    // The origin column: the start message, then the retries a worker sent (no origin of their own).
    const row = (n: number, retries: number, via: string) =>
      new RegExp(`^${n}  ${time}  pseudo_init\\s+pseudo_init\\s+0\\s+${retries}\\s+${retries === 0 ? "start" : "-"}\\s+${via}\\s+\\{"fail":`);
    const attempt = (retries: number, outcome: string) => new RegExp(`^   ${time}  attempt failed, ${outcome}: ${what(retries).replace(/[.#]/g, "\\$&")}$`);
    const frame = /^\s{30,}at maybeFail \(.*actions\.ts:\d+:\d+\)$/;
    expect(history.stdout.trimEnd().split("\n")).toEqual([
      expect.stringMatching(/^#\s+at\s+state\s+event\s+steps\s+retries\s+origin\s+via\s+user_context$/),
      expect.stringMatching(row(0, 0, "stream\\.primary")),
      expect.stringMatching(attempt(0, "retrying")),
      expect.stringMatching(frame),
      expect.stringMatching(row(1, 1, "retry\\.primary")),
      expect.stringMatching(attempt(1, "retrying")),
      expect.stringMatching(frame),
      expect.stringMatching(row(2, 2, "retry\\.primary")),
      expect.stringMatching(attempt(2, "instance failed")),
      expect.stringMatching(frame),
    ]);

    const json = JSON.parse((await cli("history", "failed-1", "--json")).stdout);
    expect(Object.keys(json)).toEqual(["correlation_id", "messages", "attempts"]);
    expect(json.attempts.map((a: { retries: number; outcome: string; where: string; error: string }) => [a.retries, a.outcome, a.where, a.error])).toEqual(
      [0, 1, 2].map((retries) => [retries, retries < 2 ? "retry" : "fatal", "start.do_action ./actions.ts#Go", `injected failure at steps 0, retries ${retries}`]),
    );
    for (const [i, a] of json.attempts.entries()) {
      // Each attempt failed after the message it processed was sent, and before the next one.
      expect(a.at).toBeGreaterThanOrEqual(json.messages[i].at);
      if (i < 2) expect(a.at).toBeLessThanOrEqual(json.messages[i + 1].at);
      expect(a.stack).not.toMatch(/node:|\/src\/(engine|core|client)\//);
    }
  });

  it("start, worker --until-idle, status and history", async () => {
    const started = await cli("start", "looping", "-d", FSM, "--context", '{"loops": 2}');
    expect(started.code, started.stderr).toBe(0);
    const id = started.stdout.trim();
    expect(id).toMatch(/^[0-9a-f]{32}$/);

    const before = JSON.parse((await cli("status", id, "--json")).stdout);
    expect(before).toMatchObject({ correlation_id: id, machine_name: "looping", status: "running", state: "pseudo_init" });

    const worker = await cli("worker", "-d", FSM, "--until-idle");
    expect(worker.code, worker.stderr).toBe(0);
    expect(worker.stderr).toMatch(/processed \d+ message\(s\)/);

    const status = await cli("status", id, "--json");
    expect(JSON.parse(status.stdout)).toMatchObject({ correlation_id: id, status: "completed", state: "end", user_context: { loops: 2, count: 2 } });

    const history = JSON.parse((await cli("history", id, "--json")).stdout);
    expect(history.messages.map((m: { current_state: string; current_event: string; steps: number }) => [m.current_state, m.current_event, m.steps])).toEqual([
      ["pseudo_init", "pseudo_init", 0],
      ["loop", "again", 1],
      ["loop", "done", 2],
    ]);

    const text = await cli("status", id);
    expect(text.stdout).toMatch(/status:\s+completed/);
  });

  it("start, worker --until-idle, status waiting, list --status waiting, send, worker, status completed", async () => {
    const started = await cli("start", "approval", "-d", FSM, "--correlation-id", "approval-1");
    expect(started.code, started.stderr).toBe(0);
    expect((await cli("worker", "-d", FSM, "--until-idle")).code).toBe(0);

    expect(JSON.parse((await cli("status", "approval-1", "--json")).stdout)).toMatchObject({ status: "waiting", state: "review" });
    expect((await cli("status", "approval-1")).stdout).toMatch(/status:\s+waiting/);
    const waiting = JSON.parse((await cli("list", "--status", "waiting", "--json")).stdout) as Array<{ correlation_id: string }>;
    expect(waiting.map((r) => r.correlation_id)).toContain("approval-1");

    const refused = await cli("send", "approval-1", "nope", "-d", FSM);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toBe('switchyard: state "review" of machine "approval" has no transition on event "nope"; its events: approve, hold\n');
    const badData = await cli("send", "approval-1", "approve", "-d", FSM, "--data", "{oops");
    expect(badData.code).toBe(1);
    expect(badData.stderr).toMatch(/^switchyard: --data is not valid JSON/);

    const sent = await cli("send", "approval-1", "approve", "-d", FSM, "--data", '{"by": "ana"}', "--json");
    expect(sent.code, sent.stderr).toBe(0);
    expect(JSON.parse(sent.stdout)).toEqual({ correlation_id: "approval-1", state: "review", event: "approve", steps: 1, role: "stream", side: "primary" });

    expect((await cli("worker", "-d", FSM, "--until-idle")).code).toBe(0);
    expect(JSON.parse((await cli("status", "approval-1", "--json")).stdout)).toMatchObject({
      status: "completed",
      state: "approved",
      user_context: { event_data: { by: "ana" }, received: [{ by: "ana" }] },
    });
    const again = await cli("send", "approval-1", "approve", "-d", FSM);
    expect(again.code).toBe(1);
    expect(again.stderr).toBe('switchyard: instance approval-1 is completed (state "approved"), not waiting; events go to waiting instances only\n');
  });

  it("start refuses a correlation id not every transport can carry, with one line and no id printed", async () => {
    const rule = "use 1 to 128 characters from A-Z a-z 0-9 . _ : -";
    const empty = await cli("start", "simple", "-d", FSM, "--correlation-id", "");
    expect([empty.code, empty.stdout, empty.stderr]).toEqual([1, "", `switchyard: correlation id is empty; ${rule}\n`]);
    const spaced = await cli("start", "simple", "-d", FSM, "--correlation-id", "order 42");
    expect([spaced.code, spaced.stdout, spaced.stderr]).toEqual([1, "", `switchyard: correlation id "order 42" contains " "; ${rule}\n`]);
    const refused = await cli("status", "", "--json");
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/^switchyard: no instance with correlation id "" in /);
  });

  it("a settings file with an impossible number: one line naming the key and its range, nothing runs", async () => {
    writeFileSync(path.join(dir, "inf.yaml"), "stream: sqlite:./inf.db\nvisibility_timeout: .inf\n");
    const infinite = await cli("worker", "-d", FSM, "--settings", "inf.yaml", "--until-idle");
    expect([infinite.code, infinite.stderr]).toEqual([
      1,
      `switchyard: ${path.join(dir, "inf.yaml")}: visibility_timeout must be a number of seconds from 0.001 to 43200 (12 hours, the longest SQS visibility timeout), got Infinity\n`,
    ]);
    writeFileSync(path.join(dir, "timer.yaml"), "cache: redis://127.0.0.1:6379/0?timeout_ms=1e12\n");
    const overflow = await cli("worker", "-d", FSM, "--settings", "timer.yaml", "--until-idle");
    expect([overflow.code, overflow.stderr]).toEqual([
      1,
      'switchyard: Redis URI "redis://127.0.0.1:6379/0?timeout_ms=1e12": timeout_ms must be a whole number of milliseconds from 1 to 2147483647 (the longest timer Node.js can set), got "1e12"\n',
    ]);
  });

  it("an unprocessable message lands in dead-letters with its reason", async () => {
    const { Switchyard } = await import("../../src/client/switchyard.js");
    const sy = await Switchyard.open({ definitions: FSM, cwd: dir });
    await sy.roles.stream.primary.send({ correlationId: "x", steps: 0, retries: 0, body: '{"version":"0.1"}', delaySeconds: 0 });
    await sy.close();
    const worker = await cli("worker", "-d", FSM, "--until-idle", "--quiet");
    expect(worker.code, worker.stderr).toBe(0);
    expect(worker.stderr).toMatch(/moved to dead letters: message has no system_context object/);
    const letters = JSON.parse((await cli("dead-letters", "--json")).stdout);
    expect(letters[0]).toMatchObject({ reason: "message has no system_context object", body: '{"version":"0.1"}', receive_count: 1 });
  });

  it("loads TypeScript actions in a project whose package.json is not an ES module", async () => {
    const project = path.join(dir, "cjs-project");
    mkdirSync(project);
    writeFileSync(path.join(project, "package.json"), '{"name": "p", "version": "1.0.0"}\n');
    writeFileSync(path.join(project, "actions.ts"), 'export function Go(ctx: { data: Record<string, unknown> }): string {\n  ctx.data.n = 1;\n  return "done";\n}\n');
    writeFileSync(
      path.join(project, "fsm.yaml"),
      "machines:\n- name: m\n  states:\n  - name: a\n    initial: true\n    do_action: ./actions.ts#Go\n    transitions:\n    - event: done\n      target: b\n  - name: b\n    final: true\n",
    );
    const result = await runCli(["run", "m", "-d", "fsm.yaml", "--json"], { cwd: project });
    expect(result.code, result.stderr).toBe(0);
    expect(JSON.parse(result.stdout)).toMatchObject({ status: "completed", state: "b", user_context: { n: 1 } });
  });

  it("metrics sums the stored error counters per machine, state and event", async () => {
    // The runs above recorded retries of simple in start/go (fail 1:0) and in pseudo_init (0:x).
    const result = await cli("metrics", "--machine", "simple", "--json");
    expect(result.code, result.stderr).toBe(0);
    const totals = JSON.parse(result.stdout) as Array<{ dimensions: { current_state: string }; counters: Record<string, number> }>;
    const byState = Object.fromEntries(totals.map((t) => [t.dimensions.current_state, t.counters]));
    expect(byState.start).toEqual({ retry: 1 });
    expect(byState.pseudo_init).toEqual({ retry: 2, fatal: 1 });
    const text = await cli("metrics", "--since", "1h");
    expect(text.stdout).toMatch(/machine\s+state\s+event\s+emissions\s+error\s+fatal\s+cache\s+retry\s+duplicate\s+dispatch/);
    const bad = await cli("metrics", "--since", "yesterday-ish");
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/--since must be an ISO time or a duration like 15m, 2h, 1d/);
  });

  it("validate reports problems with file:line:column and exits 1", async () => {
    const bad = path.join(dir, "bad.yaml");
    writeFileSync(bad, "machines:\n- name: m\n  states:\n  - name: a\n    initial: true\n    transitions:\n    - event: e\n      target: nowhere\n");
    const result = await cli("validate", bad);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain(`${bad}:8:15: `);
    expect(result.stderr).toMatch(/nowhere/);
    const ok = await cli("validate", FSM);
    expect(ok.code, ok.stderr).toBe(0);
    expect(ok.stdout).toBe(`${FSM}: ok\n`);
  });

  it("graph prints DOT and Mermaid", async () => {
    const dot = await cli("graph", FSM, "--machine", "simple", "--format", "dot");
    expect(dot.code, dot.stderr).toBe(0);
    expect(dot.stdout).toMatch(/^digraph/);
    expect(dot.stdout).toContain('"start" -> "middle"');
    const mermaid = await cli("graph", FSM, "-m", "simple");
    expect(mermaid.stdout).toMatch(/^stateDiagram-v2/);
  });

  describe("bad input gets one clear line and a non-zero exit, no stack trace", () => {
    const cases: Array<[string, () => string[], RegExp]> = [
      ["a missing definition file", () => ["run", "simple", "-d", path.join(dir, "missing.yaml")], /missing\.yaml/],
      ["invalid YAML", () => ["run", "simple", "-d", writeTemp("broken.yaml", "machines: [\n  - name: x\n  states: {")], /broken\.yaml:\d+:\d+/],
      ["an unknown machine", () => ["run", "nope", "-d", FSM], /unknown machine "nope".*known machines: simple/],
      ["an invalid JSON context", () => ["run", "simple", "-d", FSM, "--context", "{nope"], /--context is not valid JSON/],
      ["a context that is not an object", () => ["start", "simple", "-d", FSM, "--context", "[1]"], /--context must be a JSON object/],
      ["a missing settings file", () => ["run", "simple", "-d", FSM, "--settings", path.join(dir, "nope.yaml")], /cannot read settings file .*nope\.yaml/],
      ["bad settings", () => ["run", "simple", "-d", FSM, "--settings", writeTemp("bad-settings.yaml", "chaos: {stream.primary: 2}\n")], /chaos rate for stream\.primary must be a number from 0 to 1, got 2/],
      ["an unknown settings key", () => ["run", "simple", "-d", FSM, "--settings", writeTemp("typo-settings.yaml", "strem: sqlite:./x.db\n")], /unknown settings key "strem"/],
      ["an unknown backend URI", () => ["run", "simple", "-d", FSM, "--settings", writeTemp("uri-settings.yaml", "stream: kafka://localhost\n")], /unsupported backend URI "kafka:\/\/localhost"/],
      ["the same store as primary and secondary", () => ["run", "simple", "-d", FSM, "--settings", writeTemp("same-settings.yaml", "stream: {primary: sqlite:./a.db, secondary: sqlite:./a.db}\n")], /same store/],
      ["an unknown instance", () => ["status", "does-not-exist"], /no instance with correlation id "does-not-exist"/],
      ["a correlation id already in use", () => ["start", "simple", "-d", FSM, "--correlation-id", "order-1"], /an instance with correlation id "order-1" already exists \(simple, completed\); choose another id/],
    ];
    function writeTemp(name: string, text: string): string {
      const file = path.join(dir, name);
      writeFileSync(file, text);
      return file;
    }
    for (const [what, args, message] of cases) {
      it(what, async () => {
        const result = await cli(...args());
        expect(result.code).not.toBe(0);
        expect(result.stderr).toMatch(message);
        expect(result.stderr).not.toMatch(/\n\s+at /);
        expect(result.stderr.trim().split("\n").length, result.stderr).toBeLessThanOrEqual(2);
      });
    }
  });
});
