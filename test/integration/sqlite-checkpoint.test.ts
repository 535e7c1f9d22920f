/**
 * A busy SQLite file's WAL is checkpointed by a thread of its own (checkpointer.ts), not inside
 * the commits of the event loop: committed rows reach the database file itself within a checkpoint
 * interval, long before the WAL reaches its automatic checkpoint's size.
 */
import { copyFileSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import Database from "better-sqlite3";
import { afterEach, describe, expect, it } from "vitest";
import { CHECKPOINT_INTERVAL_MS } from "../../src/backends/sqlite/checkpointer.js";
import { BACKGROUND_CHECKPOINT_AFTER, openSqliteDatabase } from "../../src/backends/sqlite/database.js";

let dir: string | undefined;
afterEach(() => {
  if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
  dir = undefined;
});

const nextTurn = () => new Promise<void>((resolve) => setImmediate(resolve));
const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Rows of `environments` in the database file alone (a copy without its WAL). */
function rowsInFile(file: string): number {
  const copy = `${file}.copy`;
  copyFileSync(file, copy);
  const db = new Database(copy, { readonly: true });
  try {
    // Without a checkpoint yet, even the schema is still only in the WAL.
    if (db.prepare("SELECT 1 FROM sqlite_master WHERE name = 'environments'").get() === undefined) return 0;
    return (db.prepare("SELECT count(*) AS n FROM environments").get() as { n: number }).n;
  } finally {
    db.close();
  }
}

describe("background WAL checkpoints", () => {
  async function commit(count: number, db: ReturnType<typeof openSqliteDatabase>, from = 0): Promise<void> {
    const insert = db.prepare("INSERT INTO environments (key, environment, created_at) VALUES (?, '{}', 0)");
    for (let i = from; i < from + count; i++) {
      await db.write("test insert", () => insert.run(`k${i}`));
      await nextTurn(); // one group commit per turn
    }
  }

  it("a file past the first group commits has its WAL copied into the database file by the thread", async () => {
    dir = mkdtempSync(path.join(tmpdir(), "switchyard-checkpoint-"));
    const file = path.join(dir, "busy.db");
    const db = openSqliteDatabase(file);
    await commit(BACKGROUND_CHECKPOINT_AFTER + 5, db);
    await sleep(CHECKPOINT_INTERVAL_MS * 4);
    expect(rowsInFile(file)).toBe(BACKGROUND_CHECKPOINT_AFTER + 5);
    await db.close();
  });

  it("a file with few commits keeps its checkpoints in the commits (no thread): its rows stay in the WAL until one", async () => {
    dir = mkdtempSync(path.join(tmpdir(), "switchyard-checkpoint-"));
    const file = path.join(dir, "quiet.db");
    const db = openSqliteDatabase(file);
    await commit(3, db);
    await sleep(CHECKPOINT_INTERVAL_MS * 4);
    expect(rowsInFile(file)).toBe(0);
    await db.close();
  });
});
