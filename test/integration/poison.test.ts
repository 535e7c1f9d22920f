/**
 * Poison messages: a message whose processing keeps failing so that not even its retry can be
 * stored is delivered again and again. After `max_receive_count` deliveries it goes to the dead
 * letters with the last error, and `worker --until-idle` ends. Real SQLite and PostgreSQL stores;
 * the failing sends are chaos at rate 1 on the stream and retry primaries.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import pg from "pg";
import { afterAll, afterEach, beforeEach, describe, expect, it } from "vitest";
import { Switchyard } from "../../src/client/switchyard.js";
import { silentLogger } from "../../src/logger.js";
import { PROTOCOL_FSM } from "../support/protocol-harness.js";
import { dropSchemas, needs, POSTGRES_URL, uniqueName } from "../support/servers.js";

const RUN = uniqueName("sy_poison");

describe.each([
  ["sqlite", (dir: string) => `sqlite:${dir}/p.db`],
  ["postgres", (dir: string) => `${POSTGRES_URL}?schema=${RUN}_${path.basename(dir).slice(-6).toLowerCase().replace(/[^a-z0-9]/g, "x")}`],
])("poison messages on %s", needs("postgres"), (_name, storeFor) => {
  let dir: string;
  let store: string;
  beforeEach(() => {
    dir = mkdtempSync(path.join(tmpdir(), "switchyard-poison-"));
    store = storeFor(dir);
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));
  afterAll(() => dropSchemas(RUN));

  async function open(config: Record<string, unknown>): Promise<Switchyard> {
    const settings = Switchyard.settings({ stream: store, retry: store, cache: store, checkpoint: store, metrics: store, visibility_timeout: 0.05, ...config }, dir);
    return Switchyard.open({ definitions: PROTOCOL_FSM, settings, logger: silentLogger, cwd: dir });
  }

  it("dead-letters a message after max_receive_count deliveries, with the last error, and the worker goes idle", async () => {
    const starter = await open({});
    const { correlationId } = await starter.start("simple", {});
    await starter.close();

    const sy = await open({ max_receive_count: 3, chaos: { "stream.primary": 1, "retry.primary": 1 } });
    try {
      const stats = await sy.worker({ concurrency: 1, stopWhenIdle: async () => (await sy.pending()) === 0 }).run();
      expect(stats.received).toBe(4);
      expect(stats.unfinished).toBe(3);
      expect(stats.outcomes).toEqual({ poison: 1 });
      const letters = await sy.deadLetters();
      expect(letters).toHaveLength(1);
      expect(JSON.parse(letters[0]!.body).system_context.correlation_id).toBe(correlationId);
      expect(letters[0]!.receiveCount).toBe(4);
      expect(letters[0]!.reason).toMatch(
        /^delivered 4 times without being handled \(max_receive_count 3\); last error: could not send [0-9a-f]{32} step 0: every stream and retry backend failed$/,
      );
    } finally {
      await sy.close();
    }
  });

  it("refuses a valid message whose next step no backend can store, at once, instead of redelivering it", async () => {
    const starter = await open({});
    const { correlationId } = await starter.start("simple", {});
    await starter.close();
    // Rewrite the queued start message: steps one past what a 32-bit column holds next.
    const body = JSON.stringify({
      version: "0.1",
      system_context: { machine_name: "simple", current_state: "pseudo_init", current_event: "pseudo_init", correlation_id: correlationId, steps: 2147483647, retries: 0 },
      user_context: {},
    });
    await rewriteQueuedBody(store, dir, body);

    const sy = await open({});
    try {
      const stats = await sy.worker({ concurrency: 1, stopWhenIdle: async () => (await sy.pending()) === 0 }).run();
      expect(stats.received).toBe(1);
      expect(stats.outcomes).toEqual({ malformed: 1 });
      const [letter] = await sy.deadLetters();
      expect(letter!.reason).toBe("message system_context.steps must be a whole number from 0 to 2147483646 (the next step must fit a 32-bit column), got 2147483647");
    } finally {
      await sy.close();
    }
  });
});

/** Replace the body of the one message waiting in the store's stream table. */
async function rewriteQueuedBody(store: string, dir: string, body: string): Promise<void> {
  if (store.startsWith("sqlite:")) {
    const { default: Database } = await import("better-sqlite3");
    const db = new Database(path.join(dir, "p.db"));
    try {
      expect(db.prepare("UPDATE stream_messages SET body = ?").run(body).changes).toBe(1);
    } finally {
      db.close();
    }
    return;
  }
  const schema = new URL(store).searchParams.get("schema")!;
  const client = new pg.Client({ connectionString: POSTGRES_URL });
  await client.connect();
  try {
    const result = await client.query(`UPDATE "${schema}".stream_messages SET body = $1`, [body]);
    expect(result.rowCount).toBe(1);
  } finally {
    await client.end();
  }
}
