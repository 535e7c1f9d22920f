/**
 * Counting wrappers over the store drivers, installed in a benchmark process only: every
 * better-sqlite3 statement call (Statement run/get/all/iterate, Database exec), every `pg`
 * Client query, every ioredis command passes through a tally (see bench/round-trips.ts) before it
 * runs. The library itself is untouched; the wrappers patch the drivers' prototypes in this process
 * and put them back on `uninstall`.
 */
import Database from "better-sqlite3";
import { Redis } from "ioredis";
import pg from "pg";
import { countCommand, countStatement, emptyTally, statementKeyword, type Tally } from "./round-trips.js";

/** A tally being filled by a wrapper. */
export interface Counter {
  /** What was counted since the counter was installed or last reset. */
  readonly tally: Tally;
  /** Start counting from zero (e.g. once start-up is over). */
  reset(): void;
  /** Put the driver's own methods back. */
  uninstall(): void;
}

type Method = (this: unknown, ...args: unknown[]) => unknown;

/** Replace `names` on `target` by `wrap(original)`; returns the function that restores them. */
function patch(target: object, names: readonly string[], wrap: (original: Method) => Method): () => void {
  const record = target as Record<string, Method>;
  const originals = names.map((name) => [name, record[name] as Method] as const);
  for (const [name, original] of originals) record[name] = wrap(original);
  return () => {
    for (const [name, original] of originals) record[name] = original;
  };
}

function counter(restore: () => void): Counter & { tally: Tally } {
  const state = {
    tally: emptyTally(),
    reset() {
      state.tally = emptyTally();
    },
    uninstall: restore,
  };
  return state;
}

/** Count every SQLite statement this process runs through better-sqlite3. */
export function countSqlite(): Counter {
  const probe = new Database(":memory:");
  const statementPrototype = Object.getPrototypeOf(probe.prepare("SELECT 1")) as object;
  probe.close();
  // The keyword of a statement's text is looked up once, not per call.
  const texts = new Map<string, string>();
  const keyword = (sql: string) => {
    let text = texts.get(sql);
    if (text === undefined) {
      text = statementKeyword(sql);
      texts.set(sql, text);
    }
    return text;
  };
  const undo: Array<() => void> = [];
  const result = counter(() => {
    for (const restore of undo.splice(0)) restore();
  });
  undo.push(
    patch(statementPrototype, ["run", "get", "all", "iterate"], (original) =>
      function (this: unknown, ...args: unknown[]) {
        const statement = this as Database.Statement;
        countStatement(result.tally, keyword(statement.source), statement.database.inTransaction);
        return original.apply(this, args);
      },
    ),
    patch(Database.prototype, ["exec"], (original) =>
      function (this: unknown, ...args: unknown[]) {
        const db = this as Database.Database;
        countStatement(result.tally, keyword(String(args[0])), db.inTransaction);
        return original.apply(this, args);
      },
    ),
  );
  return result;
}

/** Count every statement this process sends through a `pg` Client (pools run theirs on Clients). */
export function countPostgres(): Counter {
  const inTransaction = new WeakMap<object, boolean>();
  const result = counter(() => restore());
  const restore = patch(pg.Client.prototype, ["query"], (original) =>
    function (this: unknown, ...args: unknown[]) {
      const config = args[0];
      const text = typeof config === "string" ? config : (config as { text?: unknown } | undefined)?.text;
      const client = this as object;
      if (typeof text === "string") inTransaction.set(client, countStatement(result.tally, text, inTransaction.get(client) ?? false));
      return original.apply(this, args);
    },
  );
  return result;
}

/** Count every command this process sends through ioredis (pipelined commands share a round trip). */
export function countRedis(): Counter {
  const pipelines = new WeakSet<object>();
  const result = counter(() => restore());
  const restore = patch(Redis.prototype, ["sendCommand"], (original) =>
    function (this: unknown, ...args: unknown[]) {
      const [command, stream] = args as [{ name: string }, object | undefined];
      countCommand(result.tally, command.name, stream, pipelines);
      return original.apply(this, args);
    },
  );
  return result;
}

/** The counter for the store of `uri` (a Switchyard backend URI: sqlite:, postgres:, redis: …). */
export function countFor(uri: string): Counter {
  const scheme = uri.slice(0, uri.indexOf(":")).toLowerCase();
  if (scheme === "sqlite") return countSqlite();
  if (scheme === "postgres" || scheme === "postgresql") return countPostgres();
  if (scheme === "redis" || scheme === "rediss") return countRedis();
  throw new Error(`the bench counts round trips on SQLite, PostgreSQL and Redis only, not on ${uri}`);
}
