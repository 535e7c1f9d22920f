/**
 * The raw-SQLite floor: the least a durable transition can cost on this machine, measured with
 * better-sqlite3 directly (no engine, no ports, no JSON). A "step" does the writes a transition
 * needs at minimum — claim one due queue row, insert the instance's next message, delete the
 * processed one — on the engine's own schema, with the pragmas the SQLite backend sets.
 */
import { join } from "node:path";
import Database from "better-sqlite3";
import { MIGRATIONS } from "../src/backends/sqlite/schema.js";
import { SQLITE_PRAGMAS } from "../src/backends/sqlite/database.js";

/** The pragmas of the SQLite backend itself, so the floor and the engine are compared fairly. */
export const FLOOR_PRAGMAS = SQLITE_PRAGMAS;

export interface FloorResult {
  readonly stepsPerTransaction: number;
  readonly steps: number;
  readonly ms: number;
  readonly stepsPerSecond: number;
}

interface Claimed {
  id: number;
  correlation_id: string;
  steps: number;
  body: string;
}

/**
 * Run `instances × steps` steps on a fresh database file in `dir`, committing every
 * `stepsPerTransaction` steps. `body` is a message body of realistic size.
 */
export function measureFloor(dir: string, instances: number, steps: number, stepsPerTransaction: number, body: string): FloorResult {
  const db = new Database(join(dir, `floor-${stepsPerTransaction}.db`));
  try {
    db.pragma(`journal_mode = ${FLOOR_PRAGMAS.journal_mode}`);
    db.pragma(`synchronous = ${FLOOR_PRAGMAS.synchronous}`);
    db.pragma(`wal_autocheckpoint = ${FLOOR_PRAGMAS.wal_autocheckpoint}`);
    for (const migration of MIGRATIONS) db.exec(migration);

    const insert = db.prepare<[string, number, string, number, number]>(
      `INSERT INTO stream_messages (correlation_id, steps, retries, body, visible_at, enqueued_at)
       VALUES (?, ?, 0, ?, ?, ?)`,
    );
    // The engine's claim statement (src/backends/sqlite/stream.ts), one row at a time.
    const claim = db.prepare<[Record<string, unknown>], Claimed>(
      `UPDATE stream_messages SET visible_at = @until, receive_count = receive_count + 1, claim_token = @token
       WHERE id IN (SELECT id FROM stream_messages WHERE visible_at <= @now ORDER BY visible_at, id LIMIT 1)
       RETURNING id, correlation_id, steps, body`,
    );
    const remove = db.prepare<[number, string]>("DELETE FROM stream_messages WHERE id = ? AND claim_token = ?");

    const start = Date.now();
    db.transaction(() => {
      for (let i = 0; i < instances; i++) insert.run(`instance-${i}`, 0, body, start, start);
    }).immediate();

    let token = 0;
    const step = (): void => {
      const now = Date.now();
      const tok = String(++token);
      const row = claim.get({ now, until: now + 30_000, token: tok });
      if (row === undefined) throw new Error("floor: the queue ran dry before all steps were done");
      if (row.steps + 1 < steps) insert.run(row.correlation_id, row.steps + 1, row.body, now, now);
      remove.run(row.id, tok);
    };
    const batch = db.transaction((count: number) => {
      for (let i = 0; i < count; i++) step();
    });

    const total = instances * steps;
    const t0 = performance.now();
    for (let done = 0; done < total; done += stepsPerTransaction) batch.immediate(Math.min(stepsPerTransaction, total - done));
    const ms = performance.now() - t0;

    const left = db.prepare("SELECT count(*) FROM stream_messages").pluck().get() as number;
    if (left !== 0) throw new Error(`floor: ${left} messages left after ${total} steps`);
    return { stepsPerTransaction, steps: total, ms, stepsPerSecond: (total / ms) * 1000 };
  } finally {
    db.close();
  }
}

/** The SQLite library version better-sqlite3 links. */
export function sqliteVersion(): string {
  const db = new Database(":memory:");
  try {
    return db.prepare("SELECT sqlite_version()").pluck().get() as string;
  } finally {
    db.close();
  }
}
