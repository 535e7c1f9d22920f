/**
 * The operator's commands on a cluster deployment: stream, retry and journal on PostgreSQL, leases
 * and dispatched flags on Redis. The same expense machine as cli-operations.test.ts, driven by real
 * CLI processes: events, pause/resume, abort with compensation, redrive.
 */
import { mkdtempSync, rmSync, unlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runCli } from "../support/cli.js";
import { POSTGRES_URL, REDIS_URL, deleteRedisKeys, dropSchemas, needs, uniqueName } from "../support/servers.js";
import { ACTIONS, FSM } from "../fixtures/operations/expense.js";

const RUN = uniqueName("cliops");

describe("switchyard operations from the CLI on PostgreSQL + Redis", needs("postgres", "redis"), () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(path.join(tmpdir(), "switchyard-ops-cluster-"));
    writeFileSync(path.join(dir, "fsm.yaml"), FSM);
    writeFileSync(path.join(dir, "actions.mjs"), ACTIONS);
    const pg = `${POSTGRES_URL}?schema=${RUN}`;
    const redis = `${REDIS_URL}?prefix=${RUN}`;
    writeFileSync(
      path.join(dir, "switchyard.settings.yaml"),
      `stream: ${pg}\nretry: ${pg}\ncache: ${redis}\ncheckpoint: ${pg}\nmetrics: ${pg}\njournal: ${pg}\n`,
    );
  });
  afterAll(async () => {
    rmSync(dir, { recursive: true, force: true });
    await dropSchemas(RUN);
    await deleteRedisKeys(RUN);
  });

  async function ok(...args: string[]): Promise<string> {
    const result = await runCli(args, { cwd: dir });
    expect(result.code, `${args.join(" ")}: ${result.stderr}`).toBe(0);
    return result.stdout;
  }
  const status = async (id: string) => JSON.parse(await ok("status", id, "--json")) as Record<string, unknown>;
  const work = () => ok("worker", "-d", "fsm.yaml", "--until-idle", "-q");

  it("send, pause/resume, abort with compensation and redrive", async () => {
    await ok("resources", "create");
    for (const id of ["c-1", "c-2", "c-3"]) await ok("start", "expense", "-d", "fsm.yaml", "--correlation-id", id);
    await work();
    for (const id of ["c-1", "c-2", "c-3"]) expect(await status(id)).toMatchObject({ status: "waiting", state: "review", steps: 1 });

    await ok("send", "c-1", "approve", "-d", "fsm.yaml", "--data", '{"by": "ana"}');
    await ok("pause", "c-2");
    await ok("send", "c-2", "approve", "-d", "fsm.yaml", "--data", '{"by": "bo"}');
    await ok("abort", "c-3", "-d", "fsm.yaml", "--reason", "duplicate claim");
    await work();
    expect(await status("c-1")).toMatchObject({ status: "completed", state: "approved", user_context: { approved_by: "ana" } });
    expect(await status("c-2")).toMatchObject({ status: "paused", paused_status: "waiting", parked: 1, state: "review" });
    expect(await status("c-3")).toMatchObject({ status: "aborted", state: "refunded", reason: "duplicate claim", user_context: { charged: true, refunded: true } });

    await ok("resume", "c-2");
    await work();
    expect(await status("c-2")).toMatchObject({ status: "completed", state: "approved", user_context: { approved_by: "bo" } });

    writeFileSync(path.join(dir, "processor-down"), "");
    await ok("start", "expense", "-d", "fsm.yaml", "--correlation-id", "c-4");
    await work();
    expect(await status("c-4")).toMatchObject({ status: "failed", reason: expect.stringContaining("card processor down") });
    unlinkSync(path.join(dir, "processor-down"));
    await ok("redrive", "c-4", "-d", "fsm.yaml");
    await work();
    expect(await status("c-4")).toMatchObject({ status: "waiting", state: "review", user_context: { charged: true } });
  }, 120_000);
});
