/**
 * Definition versions end to end from the CLI (SPEC §10), on the embedded default and on
 * PostgreSQL: 100 approval instances start on version "2026-11" and wait; version "2026-12"
 * renames their waiting state with a migrate: entry; `validate --against deployed` passes it (and
 * stops the same deploy without the entry), `deploy` registers it, `migrate` moves every instance,
 * and after their events all 100 complete under the new rules, each history showing its move.
 */
import { copyFileSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ROOT, runCli } from "../support/cli.js";
import { dropSchemas, needs, POSTGRES_URL, uniqueName } from "../support/servers.js";

const FIXTURES = path.join(ROOT, "test/fixtures/approval");
const INSTANCES = 100;

interface Backend {
  readonly name: string;
  /** Extra CLI arguments (a settings file), written into `dir`. */
  settings(dir: string): string[];
}

const RUN = uniqueName("versions");

const backends: Array<[Backend, { skip: boolean }]> = [
  [{ name: "the embedded default", settings: () => [] }, { skip: false }],
  [
    {
      name: "PostgreSQL",
      settings(dir) {
        const url = `${POSTGRES_URL}?schema=${RUN}`;
        const file = path.join(dir, "settings.yaml");
        writeFileSync(file, `stream: ${url}\nretry: ${url}\ncache: ${url}\ncheckpoint: ${url}\nmetrics: ${url}\njournal: ${url}\n`);
        return ["-s", file];
      },
    },
    needs("postgres"),
  ],
];

afterAll(() => dropSchemas(RUN));

describe.each(backends)("definition versions on %s", (backend, options) => {
  let dir: string;
  let settings: string[];
  const cli = (...args: string[]) => runCli([...args, ...settings], { cwd: dir, timeoutMs: 120_000 });
  const json = async (...args: string[]) => {
    const result = await cli(...args, "--json");
    expect(result.stderr, args.join(" ")).not.toMatch(/^switchyard:/m);
    return JSON.parse(result.stdout) as Record<string, unknown> & Array<Record<string, unknown>>;
  };
  /** Put a fixture in place as the deployed definition file, fsm.yaml. */
  const use = (fixture: string) => copyFileSync(path.join(FIXTURES, fixture), path.join(dir, "fsm.yaml"));

  beforeAll(() => {
    dir = mkdtempSync(path.join(tmpdir(), "switchyard-versions-"));
    copyFileSync(path.join(FIXTURES, "actions.mjs"), path.join(dir, "actions.mjs"));
    settings = backend.settings(dir);
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it("100 instances started on v1 move to v2 with its migrate: map and complete under v2", { ...options, timeout: 240_000 }, async () => {
    use("v1.yaml");
    const started = await cli("start", "approval", "-d", "fsm.yaml", "--count", String(INSTANCES));
    expect(started.code, started.stderr).toBe(0);
    const worker = await cli("worker", "-d", "fsm.yaml", "--until-idle", "--quiet");
    expect(worker.code, worker.stderr).toBe(0);

    const before = await json("versions");
    expect(before).toEqual([
      expect.objectContaining({ machine: "approval", label: "2026-11", current: false, newest: true, counts: { waiting: INSTANCES }, needed: INSTANCES }),
    ]);
    const v1 = before[0]?.version as string;
    expect(v1).toMatch(/^[0-9a-f]{16}$/);
    const someone = (await json("list", "--limit", "1"))[0] as { correlation_id: string; version: string; state: string };
    expect(someone).toMatchObject({ version: v1, state: "awaiting_approval" });

    // Without a migrate: entry the deploy would strand them: validate says where, and fails.
    use("v2-no-migrate.yaml");
    const stranded = await cli("validate", "fsm.yaml", "--against", "deployed");
    expect(stranded.code).toBe(1);
    expect(stranded.stderr).toMatch(/^fsm\.yaml:\d+:\d+: .*"awaiting_approval".*100 instances/m);

    use("v2.yaml");
    const validated = await cli("validate", "fsm.yaml", "--against", "deployed");
    expect(validated.stderr).toBe("");
    expect(validated.stdout).toBe("fsm.yaml: ok (nothing stranded against deployed)\n");
    expect(validated.code).toBe(0);

    const deployed = await json("deploy", "-d", "fsm.yaml");
    expect(deployed).toEqual([{ machine: "approval", version: expect.stringMatching(/^[0-9a-f]{16}$/), label: "2026-12", created: true }]);
    const v2 = deployed[0]?.version as string;
    expect(v2).not.toBe(v1);
    expect(await json("deploy", "-d", "fsm.yaml")).toEqual([{ ...deployed[0], created: false }]);

    const dry = await json("migrate", "-d", "fsm.yaml", "-m", "approval", "--from", "2026-11", "--dry-run");
    expect(dry).toMatchObject({ dry_run: true, at_next_message: 0, refused: [] });
    expect(dry.moved).toHaveLength(INSTANCES);
    expect((await json("status", someone.correlation_id)).version).toBe(v1);

    const migrated = await json("migrate", "-d", "fsm.yaml", "-m", "approval", "--from", "2026-11");
    expect(migrated).toMatchObject({ machine: "approval", from: { version: v1, label: "2026-11" }, to: { version: v2, label: "2026-12" }, dry_run: false, at_next_message: 0, refused: [] });
    expect(migrated.moved).toHaveLength(INSTANCES);
    for (const moved of migrated.moved as Array<Record<string, unknown>>) expect(moved).toMatchObject({ status: "waiting", from_state: "awaiting_approval", to_state: "pending_review" });
    expect(await json("status", someone.correlation_id)).toMatchObject({ version: v2, state: "pending_review", status: "waiting", user_context: { submitted: true, queue: "reviewers" } });

    const events = path.join(dir, "events.jsonl");
    const ids = (migrated.moved as Array<{ correlation_id: string }>).map((m) => m.correlation_id);
    writeFileSync(events, ids.map((id) => JSON.stringify({ correlation_id: id, event: "approve" })).join("\n"));
    const sent = await cli("send", "-d", "fsm.yaml", "--from", events);
    expect(sent.stderr).toBe(`${INSTANCES} event(s) sent\n`);
    expect(sent.code).toBe(0);
    const finish = await cli("worker", "-d", "fsm.yaml", "--until-idle", "--quiet");
    expect(finish.code, finish.stderr).toBe(0);

    const done = await json("list", "--status", "completed", "--limit", "1000");
    expect(done).toHaveLength(INSTANCES);
    for (const record of done) expect(record).toMatchObject({ version: v2, state: "approved", user_context: { submitted: true, queue: "reviewers", rules: "2026-12" } });

    const history = (await json("history", someone.correlation_id)) as unknown as { messages: Array<Record<string, unknown>> };
    expect(history.messages.map((m) => [m.current_state, m.current_event, m.origin ?? null])).toEqual([
      ["pseudo_init", "pseudo_init", null],
      ["pending_review", "pseudo_migrate", "migrate"],
      ["pending_review", "approve", "event"],
    ]);
    expect(history.messages[1]).toMatchObject({ version: v2, migrated_from: { version: v1, state: "awaiting_approval" } });
    const text = await cli("history", someone.correlation_id);
    expect(text.stdout).toContain(`migrate from "awaiting_approval" of ${v1} to ${v2}`);

    const after = await json("versions", "-d", "fsm.yaml");
    expect(after.map((v) => [v.label, v.current, v.newest, v.counts])).toEqual([
      ["2026-12", true, true, { completed: INSTANCES }],
      ["2026-11", false, false, {}],
    ]);
    const pruned = await json("versions", "prune");
    expect((pruned.pruned as Array<Record<string, unknown>>).map((v) => v.version)).toEqual([v1]);
    expect((await json("versions")).map((v) => v.version)).toEqual([v2]);
  });
});
