/**
 * The port contracts, and what only PostgreSQL promises (LISTEN/NOTIFY wake-ups, SKIP LOCKED
 * claims shared by many connections, safe concurrent migrations, one-line connection errors),
 * against the real server: each test gets its own schema, unique to this run, dropped after.
 */
import { randomUUID } from "node:crypto";
import pg from "pg";
import { afterAll, afterEach, describe, expect, it } from "vitest";
import type { BackendContext } from "../../src/backends/backend.js";
import { openPostgresBackend, type PostgresBackend, parsePostgresUri } from "../../src/backends/postgres/index.js";
import { MIGRATIONS } from "../../src/backends/postgres/schema.js";
import { SettingsError, SystemError } from "../../src/errors.js";
import { silentLogger } from "../../src/logger.js";
import { type Clock, systemClock } from "../../src/ports.js";
import { openBackend } from "../../src/settings/backends.js";
import { dropSchemas, needs, POSTGRES_URL, uniqueName } from "../support/servers.js";
import { TestClock } from "../support/clock.js";
import { cacheContract } from "./cache.contract.js";
import { checkpointContract } from "./checkpoint.contract.js";
import { consumerStateContract } from "./consumer-state.contract.js";
import { environmentContract } from "./environment.contract.js";
import { journalContract } from "./journal.contract.js";
import { metricsContract } from "./metrics.contract.js";
import { registryContract } from "./registry.contract.js";
import { message } from "./port-factory.js";
import { retryContract } from "./retry.contract.js";
import { streamContract } from "./stream.contract.js";

const run = uniqueName("sy_pgc");
let schemas = 0;

/** One connection for test housekeeping (emptying and dropping schemas), opened on first use. */
let admin: pg.Client | undefined;
async function adminQuery(sql: string, params: unknown[] = []) {
  if (admin === undefined) {
    admin = new pg.Client({ connectionString: POSTGRES_URL });
    await admin.connect();
  }
  return admin.query(sql, params);
}
afterAll(async () => {
  await admin?.end();
  await dropSchemas(run);
});

const context = (clock: Clock = systemClock): BackendContext => ({ clock, baseDir: process.cwd(), endpoints: {}, logger: silentLogger });

/** A fresh schema's name (zero-padded so no name is a prefix of another). */
const freshSchema = () => `${run}_${String(++schemas).padStart(4, "0")}`;
const uriOf = (schema: string) => `${POSTGRES_URL}?schema=${schema}`;
/** host:port of the test server, as a pattern (the global setup may have started one on another port). */
const ADDRESS = new URL(POSTGRES_URL).host.replace(/\./g, "\\.");
const freshUri = () => uriOf(freshSchema());

async function dropSchema(schema: string): Promise<void> {
  await adminQuery(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
}

/**
 * Schemas of finished contract tests, emptied, for the next test: creating and dropping a schema
 * per test cost more than the tests themselves. Every schema is dropped after the file.
 */
const emptied: string[] = [];
async function empty(schema: string): Promise<void> {
  const { rows } = await adminQuery(
    "SELECT table_name FROM information_schema.tables WHERE table_schema = $1 AND table_name <> 'schema_migrations'",
    [schema],
  );
  await adminQuery(rows.map((row: { table_name: string }) => `DELETE FROM "${schema}".${row.table_name};`).join("\n"));
  emptied.push(schema);
}

/** A backend on an empty schema, and how to close it and drop the schema. */
async function openFresh(clock: Clock = systemClock, uri = freshUri()) {
  const backend = await openPostgresBackend(uri, context(clock));
  const cleanup = async () => {
    await backend.close();
    await dropSchema(backend.db.schema);
  };
  return { uri, backend, cleanup };
}

/** A contract factory: one port of a backend on an empty schema, plus what the contract may inspect. */
function factory<P>(make: (backend: PostgresBackend) => P) {
  return async (clock: TestClock) => {
    const backend = await openPostgresBackend(uriOf(emptied.pop() ?? freshSchema()), context(clock));
    const cleanup = async () => {
      await backend.close();
      await empty(backend.db.schema);
    };
    return { port: make(backend), cleanup, backend };
  };
}


describe("the port contracts on PostgreSQL", needs("postgres"), () => {
  streamContract("postgres", async (clock) => {
    const fixture = await factory((b) => b.stream())(clock);
    return { ...fixture, deadLetters: fixture.backend.deadLetters };
  }, { byCorrelationId: true, countsOneInstance: true });
  retryContract("postgres", async (clock) => {
    const fixture = await factory((b) => b.retry())(clock);
    return { ...fixture, deadLetters: fixture.backend.deadLetters };
  }, { byCorrelationId: true, countsOneInstance: true });
  cacheContract("postgres", factory((b) => b.cache()));
  checkpointContract("postgres", factory((b) => b.checkpoint()));
  consumerStateContract("postgres", factory((b) => b.consumerState()));
  environmentContract("postgres", factory((b) => b.environment()));
  journalContract("postgres", factory((b) => b.journal()));
  registryContract("postgres", factory((b) => b.journal()));
  metricsContract("postgres", async (clock) => {
    const fixture = await factory((b) => b.metrics())(clock);
    return { ...fixture, emissions: async () => (await fixture.port.recent()).map(({ at: _, ...rest }) => rest) };
  }, { keepsEmptyEmissions: true });
});

/** Resolves when `listener` has been called `times` times; rejects after `ms`. */
function calls(times: number, ms = 5_000) {
  let count = 0;
  let done: () => void = () => {};
  const reached = new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`listener called ${count} of ${times} times within ${ms} ms`)), ms);
    done = () => {
      clearTimeout(timer);
      resolve();
    };
  });
  const listener = () => {
    count += 1;
    if (count >= times) done();
  };
  return { listener, reached, count: () => count };
}

describe("postgres backend", needs("postgres"), () => {
  const cleanups: Array<() => Promise<void>> = [];
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });
  const open = async (clock: Clock = systemClock, uri?: string) => {
    const opened = await openFresh(clock, uri);
    cleanups.push(opened.cleanup);
    return opened;
  };
  /** A second backend on the same schema (another worker), closed but not dropping the schema. */
  const another = async (uri: string) => {
    const backend = await openPostgresBackend(uri, context());
    cleanups.push(() => backend.close());
    return backend;
  };

  it("is opened by the settings registry for postgres:// and postgresql:// URIs", async () => {
    const { uri } = await open();
    for (const scheme of ["postgres://", "postgresql://"]) {
      const backend = await openBackend(uri.replace(/^postgres:\/\//, scheme), context());
      cleanups.push(() => backend.close());
      expect(backend.uri.startsWith(scheme)).toBe(true);
      await backend.stream?.("primary").send(message(randomUUID()));
    }
  });

  it("wakes a listener of another backend when a due message is sent or a due retry scheduled", async () => {
    const { uri, backend: sender } = await open();
    const receiver = await another(uri);
    const wakes = calls(1);
    const unsubscribe = receiver.stream("primary").onWork(wakes.listener);
    await expect.poll(() => receiver.listener.listening, { timeout: 5_000 }).toBe(true);
    const afterConnect = wakes.count();

    const sent = calls(1);
    const stop = receiver.retry("secondary").onWork(sent.listener);
    await sender.stream().send(message(randomUUID()));
    await sent.reached;
    stop();

    const scheduled = calls(1);
    const stopAgain = receiver.stream().onWork(scheduled.listener);
    await sender.retry().schedule(message(randomUUID(), 1, { retries: 1 }));
    await scheduled.reached;
    stopAgain();
    unsubscribe();

    // Unsubscribed listeners are not called again.
    const before = wakes.count();
    expect(before).toBeGreaterThan(afterConnect);
    await sender.stream().send(message(randomUUID()));
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(wakes.count()).toBe(before);
  });

  it("announces a burst of due sends with a NOTIFY at its start and one after its last message is stored, not one per message", async () => {
    const { backend: sender } = await open();
    const listener = new pg.Client({ connectionString: POSTGRES_URL });
    await listener.connect();
    cleanups.push(() => listener.end());
    const heard: number[] = [];
    listener.on("notification", () => {
      heard.push(Date.now());
    });
    await listener.query(`LISTEN "${sender.db.channel}"`);
    const burst = () => Promise.all(Array.from({ length: 10 }, () => sender.stream().send(message(randomUUID()))));
    const settled = () => new Promise((resolve) => setTimeout(resolve, 150));
    // The pool's connections open on the first burst; the second measures.
    await burst();
    await settled();
    const before = heard.length;

    await burst();
    const stored = Date.now();
    await settled();
    const burstHeard = heard.slice(before);
    // The first send announces itself; the others share the NOTIFY at the end of the window (one
    // more if a send was stored after that went out), sent once their rows are stored.
    expect(burstHeard.length).toBeGreaterThanOrEqual(2);
    expect(burstHeard.length).toBeLessThan(10);
    expect(Math.max(...burstHeard)).toBeGreaterThanOrEqual(stored - 5);

    // A retry scheduled due now, after the window, announces itself at once.
    const scheduled = heard.length;
    await sender.retry().schedule(message(randomUUID(), 1, { retries: 1 }));
    await expect.poll(() => heard.length, { timeout: 2_000 }).toBe(scheduled + 1);

    // A NOTIFY still due when the backend closes is sent before its pool ends.
    await settled();
    const closing = heard.length;
    await Promise.all([sender.stream().send(message(randomUUID())), sender.stream().send(message(randomUUID()))]);
    await sender.close();
    await expect.poll(() => heard.length, { timeout: 2_000 }).toBe(closing + 2);
  });

  it("does not announce messages that are not due yet", async () => {
    const { uri, backend: sender } = await open();
    const receiver = await another(uri);
    const wakes = calls(1);
    receiver.stream().onWork(wakes.listener);
    await expect.poll(() => receiver.listener.listening, { timeout: 5_000 }).toBe(true);
    const connected = wakes.count();
    await sender.stream().send(message(randomUUID(), 1, { delaySeconds: 60 }));
    await sender.retry().schedule(message(randomUUID(), 1, { retries: 1, delaySeconds: 60 }));
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(wakes.count()).toBe(connected);
  });

  it("never hands one message to two consumers racing on one schema", async () => {
    const { uri, backend } = await open();
    const results = await backend.stream().sendBatch(Array.from({ length: 400 }, (_, i) => message(`c${i}`)));
    expect(results.every((r) => r.ok)).toBe(true);
    const consumers = [backend, await another(uri), await another(uri)].map((b) => b.stream());
    const claimed: string[] = [];
    await Promise.all(
      consumers.map(async (stream) => {
        for (;;) {
          const deliveries = await stream.receive({ max: 9, visibilityTimeoutSeconds: 60 });
          if (deliveries.length === 0) return;
          claimed.push(...deliveries.map((d) => d.id));
        }
      }),
    );
    expect(claimed).toHaveLength(400);
    expect(new Set(claimed).size).toBe(400);
  });

  it("hands a contended lease to exactly one of many workers, with strictly increasing fences", async () => {
    const { uri } = await open();
    const caches = await Promise.all(Array.from({ length: 6 }, () => another(uri).then((b) => b.cache())));
    const id = randomUUID();
    const fences: number[] = [];
    for (let round = 1; round <= 3; round++) {
      const results = await Promise.all(caches.map((cache) => cache.acquireLease(id, round, 0, 60)));
      const won = results.filter((r) => r.acquired);
      expect(won).toHaveLength(1);
      const lease = won[0];
      if (lease?.acquired !== true) throw new Error("no lease");
      fences.push(lease.fenceToken);
      expect(await caches[0]?.releaseLease(id, round, 0, lease.fenceToken)).toBe(true);
    }
    expect(fences).toEqual([1, 2, 3]);
  });

  it("migrates a schema once when many workers start at once, and provision reports what it did", async () => {
    const { uri } = await open();
    const backends = await Promise.all(Array.from({ length: 5 }, () => another(uri)));
    const reports = await Promise.all(backends.map((b) => b.provision()));
    const lines = reports.flat();
    for (let version = 1; version <= MIGRATIONS.length; version++) {
      expect(lines.filter((line) => line.startsWith(`applied migration ${version} `))).toHaveLength(1);
    }
    expect(lines.filter((line) => line.startsWith("created schema"))).toHaveLength(1);
    expect(lines.filter((line) => line.startsWith("exists schema"))).toHaveLength(4);
    const { schema } = parsePostgresUri(uri);
    const { rows } = await adminQuery(`SELECT version, name FROM "${schema}".schema_migrations`);
    expect(rows).toEqual(MIGRATIONS.map((migration, index) => ({ version: index + 1, name: migration.name })));
    expect(await backends[0]?.provision()).toEqual([`exists schema ${schema} at version ${MIGRATIONS.length}`]);
  });

  it("refuses a schema written by a newer Switchyard", async () => {
    const { uri, backend } = await open();
    await backend.provision();
    await adminQuery(`INSERT INTO "${backend.db.schema}".schema_migrations VALUES (99, 'future', 0)`);
    const newer = await another(uri);
    await expect(newer.stream().pending()).rejects.toThrow(`is at version 99, newer than this Switchyard knows (${MIGRATIONS.length}); upgrade Switchyard`);
  });

  it("fails a batch item by item, storing the valid items", async () => {
    const { backend } = await open();
    const stream = backend.stream();
    const broken = { ...message("c2"), body: null as unknown as string };
    const results = await stream.sendBatch([message("c1"), broken, message("c3")]);
    expect(results.map((r) => r.ok)).toEqual([true, false, true]);
    expect(results[1]).toMatchObject({ ok: false, error: { name: "SystemError", message: expect.stringMatching(/message 2 of the batch.*body/) } });
    expect(await stream.pending()).toBe(2);
    const receipts = results.flatMap((r) => (r.ok ? [r.receipt.id as number] : []));
    expect(receipts[0]).toBeLessThan(receipts[1] as number);
    expect(await stream.sendBatch([])).toEqual([]);
  });

  it("receives only the given instance's messages when asked to", async () => {
    const { backend } = await open();
    const [stream, retry] = [backend.stream(), backend.retry()];
    for (const [steps, id] of ["a", "b", "a"].entries()) {
      await stream.send(message(id, steps, { body: id }));
      await retry.schedule(message(id, steps, { body: id }));
    }
    for (const source of [stream, retry]) {
      const deliveries = await source.receive({ max: 10, visibilityTimeoutSeconds: 30, correlationId: "a" });
      expect(deliveries.map((d) => d.body)).toEqual(["a", "a"]);
    }
  });

  it("keeps fractional delays whole in milliseconds", async () => {
    const clock = new TestClock();
    const { backend } = await open(clock);
    await backend.stream().send(message(randomUUID(), 1, { delaySeconds: 1.5 }));
    clock.advance(1_499);
    expect(await backend.stream().receive({ max: 1, visibilityTimeoutSeconds: 0.25 })).toEqual([]);
    clock.advance(1);
    expect(await backend.stream().receive({ max: 1, visibilityTimeoutSeconds: 0.25 })).toHaveLength(1);
  });

  it("reports an unreachable server in one line, quickly, from the port call", async () => {
    const backend = await openPostgresBackend("postgres://postgres@127.0.0.1:1/test?schema=nowhere&connect_timeout=2", context());
    cleanups.push(() => backend.close());
    const started = Date.now();
    const error = await backend.stream().send(message("c1")).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(SystemError);
    expect((error as Error).message).toMatch(/^cannot reach PostgreSQL at 127\.0\.0\.1:1 \(ECONNREFUSED\).*check the postgres:\/\/ URI and that the server runs$/);
    expect((error as Error).message).not.toContain("\n");
    expect(Date.now() - started).toBeLessThan(5_000);
    // Every kind of port call fails the same way (and keeps failing, without hanging).
    await expect(backend.cache().acquireLease("c1", 1, 0, 60)).rejects.toThrow(/cannot reach PostgreSQL/);
    await expect(backend.provision()).rejects.toThrow(/cannot reach PostgreSQL/);
    // A listener on an unreachable server is retried in the background, never thrown.
    backend.stream().onWork(() => {});
  });

  it("fails a statement that cannot finish within statement_timeout, in one line, instead of hanging", async () => {
    const schema = freshSchema();
    const { backend } = await open(systemClock, `${uriOf(schema)}&statement_timeout=1`);
    await backend.provision();
    const locker = new pg.Client({ connectionString: POSTGRES_URL });
    await locker.connect();
    cleanups.push(() => locker.end());
    await locker.query("BEGIN");
    await locker.query(`LOCK TABLE "${schema}".stream_messages IN ACCESS EXCLUSIVE MODE`);
    const started = Date.now();
    await expect(backend.stream().pending()).rejects.toThrow(
      new RegExp(`^PostgreSQL at ${ADDRESS} did not finish stream pending in time \\(canceling statement due to statement timeout\\); .*raise \\?statement_timeout=$`),
    );
    expect(Date.now() - started).toBeLessThan(4_000);
    await locker.query("ROLLBACK");
    expect(await backend.stream().pending()).toBe(0);
  });

  it("replaces connections the server killed, and re-listens, without crashing", async () => {
    const application = `sy_kill_${randomUUID().slice(0, 8)}`;
    const { uri, backend } = await open(systemClock, `${freshUri()}&application_name=${application}`);
    const wakes = calls(1);
    backend.stream().onWork(wakes.listener);
    await backend.stream().send(message("before"));
    await expect.poll(() => backend.listener.listening, { timeout: 5_000 }).toBe(true);
    await wakes.reached;
    const { rows } = await adminQuery("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = $1", [application]);
    expect(rows.length).toBeGreaterThanOrEqual(2);
    // The pool replaces its dead connections: a call fails at most once, then works.
    await backend.stream().pending().catch((error: unknown) => expect(error).toBeInstanceOf(SystemError));
    expect(await backend.stream().pending()).toBe(1);
    // The LISTEN connection notices, comes back after its backoff and wakes its listeners.
    await expect.poll(() => backend.listener.listening, { timeout: 5_000, interval: 20 }).toBe(false);
    const beforeReconnect = wakes.count();
    await expect.poll(() => backend.listener.listening, { timeout: 5_000 }).toBe(true);
    expect(wakes.count()).toBeGreaterThan(beforeReconnect);
    // And it hears sends from other workers again.
    const heard = calls(1);
    backend.stream().onWork(heard.listener);
    const sender = await another(uri.replace(`&application_name=${application}`, ""));
    await sender.stream().send(message("after"));
    await heard.reached;
  });

  it("names a dropped table in one line, and recreates the schema on the next call", async () => {
    const { backend } = await open();
    await backend.checkpoint().store("c1", 1, { id: 1 });
    await dropSchema(backend.db.schema);
    await expect(backend.checkpoint().get("c1")).rejects.toThrow(
      new RegExp(`^PostgreSQL at ${ADDRESS}: a table of schema "sy_pgc_\\w+" is missing during read checkpoint \\(relation .* does not exist\\); run "switchyard resources create"`),
    );
    expect(await backend.checkpoint().get("c1")).toBeUndefined();
    await backend.checkpoint().store("c1", 2, { id: 2 });
    expect(await backend.checkpoint().get("c1")).toMatchObject({ steps: 2, receipt: { id: 2 } });
  });

  it("names a missing database and what to do", async () => {
    const missing = `missing_${randomUUID().slice(0, 8)}`;
    const backend = await openPostgresBackend(`${POSTGRES_URL.replace(/\/[^/]*$/, "")}/${missing}?schema=x`, context());
    cleanups.push(() => backend.close());
    await expect(backend.journal().getInstance("c1")).rejects.toThrow(
      new RegExp(`^database "${missing}" does not exist on PostgreSQL at ${ADDRESS}; create it`),
    );
  });

  it("fails port calls after close with a one-line error", async () => {
    const backend = await openPostgresBackend(freshUri(), context());
    await backend.close();
    await backend.close();
    await expect(backend.stream().send(message("c1"))).rejects.toThrow(/is closed/);
  });

  it("parses the URI options and rejects bad ones in one line", () => {
    const parsed = parsePostgresUri("postgres://app:secret@db.internal:6543/prod?schema=Orders_1&pool=20&connect_timeout=3&sslmode=disable");
    expect(parsed).toMatchObject({
      schema: "Orders_1",
      poolSize: 20,
      connectTimeoutSeconds: 3,
      statementTimeoutSeconds: 30,
      address: "db.internal:6543",
      database: "prod",
    });
    expect(parsed.connectionString).toBe("postgres://app:secret@db.internal:6543/prod?sslmode=disable");
    expect(parsePostgresUri("postgresql://localhost/test")).toMatchObject({ schema: "switchyard", poolSize: 10, address: "localhost:5432" });
    expect(() => parsePostgresUri("postgres://u:secret@h/db?schema=bad-name")).toThrow(SettingsError);
    expect(() => parsePostgresUri("postgres://u:secret@h/db?schema=bad-name")).toThrow(/u:\*\*\*@h.*schema "bad-name" must be/);
    expect(() => parsePostgresUri(`postgres://h/db?schema=${"x".repeat(59)}`)).toThrow(/at most 58 characters/);
    expect(() => parsePostgresUri("postgres://h/db?schema=PG_mine")).toThrow(/starts with "pg_", which PostgreSQL reserves/);
    expect(() => parsePostgresUri("postgres://h/db?pool=0")).toThrow(/pool must be a whole number from 1 to 262143 .*, got "0"/);
    expect(() => parsePostgresUri("postgres://h/db?connect_timeout=soon")).toThrow(/connect_timeout must be/);
    expect(() => parsePostgresUri("postgres://h/db?synchronous_commit=maybe")).toThrow(/synchronous_commit must be one of on, off, local, remote_write, remote_apply, got "maybe"/);
  });

  it("range-checks every number of its URI, with one line naming the option and its range", () => {
    expect(parsePostgresUri("postgres://h:65535/db?pool=262143&connect_timeout=2147483&statement_timeout=2147483")).toMatchObject({
      poolSize: 262143,
      connectTimeoutSeconds: 2147483,
      statementTimeoutSeconds: 2147483,
      address: "h:65535",
    });
    const timer = "whole number of seconds from 1 to 2147483 (the longest timer Node.js can set, and PostgreSQL's longest statement_timeout)";
    expect(() => parsePostgresUri("postgres://u:pw@h/db?statement_timeout=1e9")).toThrow(
      `PostgreSQL URI "postgres://u:***@h/db?statement_timeout=1e9": statement_timeout must be a ${timer}, got "1e9"`,
    );
    expect(() => parsePostgresUri("postgres://h/db?connect_timeout=2147484")).toThrow(`connect_timeout must be a ${timer}, got "2147484"`);
    expect(() => parsePostgresUri("postgres://h/db?pool=1e6")).toThrow(
      `pool must be a whole number from 1 to 262143 (PostgreSQL's largest max_connections), got "1e6"`,
    );
    expect(() => parsePostgresUri("postgres://h:0/db")).toThrow('PostgreSQL URI "postgres://h:0/db": port must be a whole number from 1 to 65535, got "0"');
  });

  it("applies ?synchronous_commit= to every connection of the pool", async () => {
    const { uri } = await open();
    const relaxed = await another(`${uri}&synchronous_commit=off`);
    const strict = await another(uri);
    const setting = async (backend: typeof relaxed) =>
      (await (backend as PostgresBackend).db.query<{ synchronous_commit: string }>("test", "SHOW synchronous_commit")).rows[0]?.synchronous_commit;
    expect(await setting(relaxed)).toBe("off");
    expect(await setting(strict)).toBe("on");
  });

  it("keeps a mixed-case schema apart from its lower-case namesake", async () => {
    const name = `${run}_Mixed`;
    const upper = await openPostgresBackend(`${POSTGRES_URL}?schema=${name}`, context());
    const lower = await openPostgresBackend(`${POSTGRES_URL}?schema=${name.toLowerCase()}`, context());
    cleanups.push(async () => {
      await upper.close();
      await lower.close();
      await dropSchema(name);
      await dropSchema(name.toLowerCase());
    });
    await upper.stream().send(message("c1"));
    expect(await lower.stream().pending()).toBe(0);
    expect(await upper.stream().pending()).toBe(1);
    const wakes = calls(1);
    upper.stream().onWork(wakes.listener);
    await expect.poll(() => upper.listener.listening, { timeout: 5_000 }).toBe(true);
  });

  it("sums stored metrics per dimension set", async () => {
    const clock = new TestClock(1_000);
    const { backend } = await open(clock);
    const metrics = backend.metrics();
    const dims = { machine_name: "m", current_state: "s", current_event: "e" };
    await metrics.emit({ retry: 1 }, dims);
    clock.advance(1_000);
    await metrics.emit({ retry: 2, fatal: 1 }, dims);
    await metrics.emit({}, { ...dims, current_event: "done" });
    await metrics.emit({ error: 1 }, { ...dims, machine_name: "other" });
    expect(await metrics.totals({ machineName: "m" })).toEqual([
      { dimensions: { ...dims, current_event: "done" }, counters: {}, emissions: 1 },
      { dimensions: dims, counters: { retry: 3, fatal: 1 }, emissions: 2 },
    ]);
    expect(await metrics.totals({ since: 2_000, machineName: "m" })).toEqual([
      { dimensions: { ...dims, current_event: "done" }, counters: {}, emissions: 1 },
      { dimensions: dims, counters: { retry: 2, fatal: 1 }, emissions: 1 },
    ]);
    expect(await metrics.totals()).toHaveLength(3);
  });
});
