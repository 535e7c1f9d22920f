/** The port contracts, and what only SQLite promises, against SQLite files in fresh temp dirs. */
import { execFile } from "node:child_process";
import { randomUUID } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import Database from "better-sqlite3";
import { afterEach, describe, expect, it } from "vitest";
import { openSqliteBackend, type SqliteBackend, SqliteDatabase, SqliteStream } from "../../src/backends/sqlite/index.js";
import { systemClock } from "../../src/ports.js";
import type { TestClock } from "../support/clock.js";
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

/** A SQLite file with a random name in a fresh temp dir, and how to remove it. */
function tempFile(): { file: string; remove(): void } {
  const dir = mkdtempSync(join(tmpdir(), "switchyard-sqlite-"));
  return { file: join(dir, `${randomUUID()}.db`), remove: () => rmSync(dir, { recursive: true, force: true }) };
}

function openTemp(clock: TestClock | typeof systemClock = systemClock) {
  const { file, remove } = tempFile();
  const backend = openSqliteBackend(`sqlite://${file}`, { clock });
  const cleanup = async () => {
    await backend.close();
    remove();
  };
  return { file, backend, cleanup };
}

/** A contract factory: one port of a fresh backend, plus what the contract may inspect. */
function factory<P>(make: (backend: SqliteBackend) => P) {
  return async (clock: TestClock) => {
    const { backend, cleanup } = openTemp(clock);
    return { port: make(backend), cleanup, backend };
  };
}

const tick = () => new Promise((resolve) => setImmediate(resolve));

streamContract("sqlite", async (clock) => {
  const fixture = await factory((b) => b.stream())(clock);
  return { ...fixture, deadLetters: fixture.backend.deadLetters };
}, { byCorrelationId: true, countsOneInstance: true });
retryContract("sqlite", async (clock) => {
  const fixture = await factory((b) => b.retry())(clock);
  return { ...fixture, deadLetters: fixture.backend.deadLetters };
}, { byCorrelationId: true, countsOneInstance: true });
cacheContract("sqlite", factory((b) => b.cache()));
checkpointContract("sqlite", factory((b) => b.checkpoint()));
consumerStateContract("sqlite", factory((b) => b.consumerState()));
environmentContract("sqlite", factory((b) => b.environment()));
journalContract("sqlite", factory((b) => b.journal()));
registryContract("sqlite", factory((b) => b.journal()));
metricsContract("sqlite", async (clock) => {
  const fixture = await factory((b) => b.metrics())(clock);
  return { ...fixture, emissions: async () => (await fixture.port.recent()).map(({ at: _, ...rest }) => rest) };
}, { keepsEmptyEmissions: true });

describe("sqlite backend", () => {
  const cleanups: Array<() => Promise<void> | void> = [];
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });
  const open = () => {
    const opened = openTemp();
    cleanups.push(opened.cleanup);
    return opened;
  };

  it("commits the writes of one event-loop turn as one transaction", async () => {
    const { file, backend } = open();
    const observer = new Database(file);
    cleanups.push(() => {
      observer.close();
    });
    const count = () => observer.prepare("SELECT COUNT(*) FROM stream_messages").pluck().get();
    const stream = backend.stream();

    await Promise.all(Array.from({ length: 100 }, (_, i) => stream.send(message(`c${i}`))));
    expect(count()).toBe(0);
    await tick();
    expect(count()).toBe(100);

    await stream.send(message("one more"));
    expect(count()).toBe(100);
    backend.db.flush();
    expect(count()).toBe(101);
  });

  it("never hands one message to two connections of the same file", async () => {
    const { file, backend } = open();
    await backend.stream().sendBatch(Array.from({ length: 300 }, (_, i) => message(`c${i}`)));
    backend.db.flush();
    const handles = [new SqliteDatabase(file), new SqliteDatabase(file)];
    cleanups.push(async () => {
      for (const db of handles) await db.close();
    });
    const streams = handles.map((db) => new SqliteStream(db, { uri: `sqlite://${file}` }));
    const claimed: string[] = [];
    for (let idle = 0; idle < 2; ) {
      for (const stream of streams) {
        const deliveries = await stream.receive({ max: 7, visibilityTimeoutSeconds: 60 });
        idle = deliveries.length === 0 ? idle + 1 : 0;
        claimed.push(...deliveries.map((d) => d.id));
        // Each handle's group transaction commits before the other handle writes, as between processes.
        await tick();
      }
    }
    expect(claimed).toHaveLength(300);
    expect(new Set(claimed).size).toBe(300);
  });

  it("never hands one message to two processes", async () => {
    const { file, backend } = open();
    await backend.stream().sendBatch(Array.from({ length: 1500 }, (_, i) => message(`c${i}`)));
    backend.db.flush();
    const script = join(import.meta.dirname, "fixtures", "claim-all.ts");
    const startAt = String(Date.now() + 2_000);
    const run = () => promisify(execFile)(process.execPath, ["--import", "tsx", script, file, startAt]);
    const outputs = await Promise.all([run(), run(), run()]);
    const perProcess = outputs.map(({ stdout }) => JSON.parse(stdout) as string[]);
    const claimed = perProcess.flat();
    expect(claimed).toHaveLength(1500);
    expect(new Set(claimed).size).toBe(1500);
  }, 60_000);

  it("receives only the given instance's messages when asked to", async () => {
    const { backend } = open();
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

  it("fails a batch item by item", async () => {
    const { backend } = open();
    const broken = { ...message("c2"), body: null as unknown as string };
    const results = await backend.stream().sendBatch([message("c1"), broken, message("c3")]);
    expect(results.map((r) => r.ok)).toEqual([true, false, true]);
    expect(results[1]).toMatchObject({ ok: false, error: { name: "SystemError" } });
  });

  it("shares one connection per file and closes it with its last user", async () => {
    const { file, backend } = open();
    const again = openSqliteBackend(`sqlite://${file}`);
    expect(again.db).toBe(backend.db);
    await again.close();
    await backend.stream().send(message("still open"));
  });

  it("serves the roles from a private in-memory database", async () => {
    const backend = openSqliteBackend("sqlite::memory:");
    cleanups.push(() => backend.close());
    await backend.stream().send(message("in memory"));
    expect(await backend.stream().receive({ max: 5, visibilityTimeoutSeconds: 30 })).toHaveLength(1);
    const other = openSqliteBackend("sqlite::memory:");
    cleanups.push(() => other.close());
    expect(other.db).not.toBe(backend.db);
  });
});
