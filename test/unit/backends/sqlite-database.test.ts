import { randomUUID } from "node:crypto";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import Database from "better-sqlite3";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { openSqliteBackend } from "../../../src/backends/sqlite/backend.js";
import { SqliteCache } from "../../../src/backends/sqlite/cache.js";
import { SqliteCheckpointStore } from "../../../src/backends/sqlite/checkpoint-store.js";
import { openSqliteDatabase, SqliteDatabase, type SqliteDatabaseOptions } from "../../../src/backends/sqlite/database.js";
import { SqliteJournal } from "../../../src/backends/sqlite/journal.js";
import { MIGRATIONS } from "../../../src/backends/sqlite/schema.js";
import { SystemError } from "../../../src/errors.js";
import type { Logger } from "../../../src/logger.js";
import { TestClock } from "../../support/clock.js";

describe("SqliteDatabase", () => {
  let dir: string;
  let file: string;
  const opened: SqliteDatabase[] = [];
  const open = (options: SqliteDatabaseOptions = {}) => {
    const db = new SqliteDatabase(file, options);
    opened.push(db);
    return db;
  };
  const count = (table: string) => {
    const observer = new Database(file);
    try {
      return observer.prepare(`SELECT COUNT(*) FROM ${table}`).pluck().get();
    } finally {
      observer.close();
    }
  };
  const insert = (db: SqliteDatabase, key = randomUUID()) =>
    db.write("insert", () => db.prepare("INSERT INTO environments VALUES (?, '{}', 0)").run(key));
  const recordingLogger = (lines: string[]): Logger => ({
    debug() {},
    info() {},
    warn() {},
    error: (line) => lines.push(line),
  });

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), "switchyard-sqlite-unit-"));
    file = join(dir, "nested", "dirs", `${randomUUID()}.db`);
  });
  afterEach(async () => {
    for (const db of opened.splice(0)) await db.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it("creates its directory, the schema at the latest version, in WAL mode", () => {
    open();
    const observer = new Database(file);
    expect(observer.pragma("user_version", { simple: true })).toBe(MIGRATIONS.length);
    expect(observer.pragma("journal_mode", { simple: true })).toBe("wal");
    observer.close();
    open(); // opening a migrated file again is a no-op
  });

  it("sets synchronous=NORMAL and a 10,000-page WAL by default; the URI can ask for FULL", async () => {
    const pragmas = (db: SqliteDatabase) =>
      db.read("pragmas", () => [db.prepare("PRAGMA synchronous").pluck().get(), db.prepare("PRAGMA wal_autocheckpoint").pluck().get()]);
    expect(pragmas(open())).toEqual([1, 10_000]);
    const backend = openSqliteBackend(`sqlite:${join(dir, "full.db")}?synchronous=full`);
    expect(pragmas(backend.db)).toEqual([2, 10_000]);
    await backend.close();
  });

  it("migrates a version-2 file, keeping each instance's history in order", async () => {
    mkdirSync(join(file, ".."), { recursive: true });
    const old = new Database(file);
    old.exec(MIGRATIONS[0] as string);
    old.exec(MIGRATIONS[1] as string);
    old.pragma("user_version = 2");
    const insert = old.prepare("INSERT INTO journal_messages (correlation_id, seq, message) VALUES (?, ?, ?)");
    for (const [cid, seq] of [["b", 2], ["a", 1], ["b", 1], ["a", 2]] as const) insert.run(cid, seq, JSON.stringify({ cid, seq }));
    old.close();
    const journal = new SqliteJournal(open(), { uri: "sqlite:test" });
    expect(await journal.history("a")).toEqual([{ cid: "a", seq: 1 }, { cid: "a", seq: 2 }]);
    expect(await journal.history("b")).toEqual([{ cid: "b", seq: 1 }, { cid: "b", seq: 2 }]);
  });

  it("migrates version-4 checkpoints into each instance's state row", async () => {
    mkdirSync(join(file, ".."), { recursive: true });
    const old = new Database(file);
    for (const migration of MIGRATIONS.slice(0, 4)) old.exec(migration);
    old.pragma("user_version = 4");
    old.prepare("INSERT INTO leases (correlation_id, steps, retries, fence, state, expires_at) VALUES ('a', 2, 0, 7, 'open', 0)").run();
    const checkpoint = old.prepare("INSERT INTO checkpoints VALUES (?, ?, ?, ?)");
    checkpoint.run("a", 3, '{"id":1}', 10);
    checkpoint.run("b", 5, '{"id":2}', 20); // an instance whose lease lives in the other cache
    old.close();
    const db = open();
    const store = new SqliteCheckpointStore(db, { uri: "sqlite:test" });
    expect(await store.get("a")).toEqual({ correlationId: "a", steps: 3, receipt: { id: 1 }, storedAt: 10 });
    expect(await store.get("b")).toEqual({ correlationId: "b", steps: 5, receipt: { id: 2 }, storedAt: 20 });
    const cache = new SqliteCache(db, { uri: "sqlite:test", clock: new TestClock() });
    expect(await cache.acquireLease("a", 3, 0, 60)).toEqual({ acquired: true, fenceToken: 8 });
    expect(await cache.acquireLease("b", 6, 0, 60)).toEqual({ acquired: true, fenceToken: 1 });
  });

  it("refuses a file from a newer schema version", () => {
    open();
    const observer = new Database(file);
    observer.pragma(`user_version = ${MIGRATIONS.length + 1}`);
    observer.close();
    expect(() => open()).toThrow(/schema version .* is newer/);
  });

  it("names the path when it cannot open the file", () => {
    writeFileSync(join(dir, "a-file"), "");
    file = join(dir, "a-file", "state.db");
    expect(() => open()).toThrow(SystemError);
    expect(() => open()).toThrow(file);
  });

  it("wraps SQLite errors in a SystemError naming the file and operation", async () => {
    const db = open();
    const failing = db.write("bad insert", () => db.prepare("INSERT INTO nowhere VALUES (1)").run());
    await expect(failing).rejects.toThrow(SystemError);
    await expect(failing).rejects.toThrow(`SQLite ${file}: bad insert failed`);
    await db.close();
    await expect(insert(db)).rejects.toThrow(/after the database was closed/);
  });

  it("commits every write on its own in `each` mode", async () => {
    const db = open({ commitMode: "each" });
    await insert(db);
    expect(count("environments")).toBe(1);
  });

  it("resolves writes only after their group committed in `group-durable` mode", async () => {
    const db = open({ commitMode: "group-durable" });
    const writes = Promise.all([insert(db), insert(db)]);
    expect(count("environments")).toBe(0);
    await writes;
    expect(count("environments")).toBe(2);
  });

  it("rolls back a turn whose commit fails, logs it, and starts afresh", async () => {
    const lines: string[] = [];
    const db = open({ commitMode: "group-durable", logger: recordingLogger(lines) });
    db.read("enable foreign keys", () => db.prepare("PRAGMA foreign_keys = ON").run());
    // A deferred foreign key violation makes COMMIT itself fail.
    const doomed = db.write("violate", () => {
      db.prepare("CREATE TEMP TABLE parent (id INTEGER PRIMARY KEY)").run();
      db.prepare("CREATE TEMP TABLE child (p INTEGER REFERENCES parent (id) DEFERRABLE INITIALLY DEFERRED)").run();
      db.prepare("INSERT INTO temp.child VALUES (42)").run();
    });
    const sameTurn = insert(db);
    await expect(doomed).rejects.toThrow(/commit failed/);
    await expect(sameTurn).rejects.toThrow(SystemError);
    expect(lines).toEqual([expect.stringMatching(/^SQLite .*: commit failed, .*FOREIGN KEY/)]);
    expect(count("environments")).toBe(0);
    await insert(db);
    expect(count("environments")).toBe(1);
  });

  it("flushes pending writes on close", async () => {
    const db = open();
    await insert(db);
    await db.close();
    expect(count("environments")).toBe(1);
  });

  it("shares one connection per file among its openers", async () => {
    const first = openSqliteDatabase(file);
    const second = openSqliteDatabase(file);
    expect(second).toBe(first);
    await first.close();
    await insert(second);
    await second.close();
    await expect(insert(second)).rejects.toThrow(/closed/);
    const third = openSqliteDatabase(file);
    expect(third).not.toBe(first);
    await third.close();
    expect(count("environments")).toBe(1);
  });

  it("migrates version-3 dispatched flags into each instance's mark", async () => {
    mkdirSync(join(file, ".."), { recursive: true });
    const old = new Database(file);
    for (const migration of MIGRATIONS.slice(0, 3)) old.exec(migration);
    old.pragma("user_version = 3");
    const now = Date.UTC(2030, 0, 1);
    old.prepare("INSERT INTO leases VALUES ('a', 2, 0, 7, 'open', 0)").run();
    const flag = old.prepare("INSERT INTO dispatched VALUES (?, ?, 0, ?)");
    flag.run("a", 1, now + 1_000);
    flag.run("a", 2, now + 5_000);
    flag.run("b", 4, now + 5_000); // flags of an instance whose lease lives in the other cache
    old.close();
    const clock = new TestClock(now);
    const cache = new SqliteCache(open(), { uri: "sqlite:test", clock });
    expect([await cache.isDispatched("a", 2), await cache.isDispatched("a", 3), await cache.isDispatched("b", 4)]).toEqual([true, false, true]);
    // The migrated lease keeps its fence token; the mark-only row starts at token 1.
    expect(await cache.acquireLease("a", 3, 0, 60)).toEqual({ acquired: true, fenceToken: 8 });
    expect(await cache.acquireLease("b", 5, 0, 60)).toEqual({ acquired: true, fenceToken: 1 });
    clock.advance(5_000);
    expect(await cache.isDispatched("b", 4)).toBe(false);
  });
});
