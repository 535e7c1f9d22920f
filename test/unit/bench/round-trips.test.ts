import Database from "better-sqlite3";
import { describe, expect, it } from "vitest";
import { countSqlite } from "../../../bench/counters.js";
import {
  commandstatsDelta,
  countCommand,
  countStatement,
  emptyTally,
  parseCommandstats,
  roundTripFigures,
  serverDelta,
  statementKeyword,
  sumTallies,
} from "../../../bench/round-trips.js";

describe("bench round trips", () => {
  it("names a statement by its first keyword, past blanks, comments and parentheses", () => {
    expect(statementKeyword("  insert into t values (1)")).toBe("INSERT");
    expect(statementKeyword("-- claim\n/* batch */ WITH c AS (SELECT 1) UPDATE t SET x = 1")).toBe("WITH");
    expect(statementKeyword("(select 1) union (select 2)")).toBe("SELECT");
    expect(statementKeyword("")).toBe("?");
  });

  it("counts a commit per explicit COMMIT and per statement outside a transaction", () => {
    const tally = emptyTally();
    let inTransaction = false;
    for (const sql of ["SELECT 1", "BEGIN", "INSERT INTO t VALUES (1)", "SAVEPOINT s", "ROLLBACK TO s", "UPDATE t SET x = 2", "COMMIT", "DELETE FROM t"]) {
      inTransaction = countStatement(tally, sql, inTransaction);
    }
    expect(inTransaction).toBe(false);
    expect(tally).toEqual({
      roundTrips: 8,
      statements: 8,
      transactions: 3,
      explicitCommits: 1,
      byCommand: { SELECT: 1, BEGIN: 1, INSERT: 1, SAVEPOINT: 1, ROLLBACK: 1, UPDATE: 1, COMMIT: 1, DELETE: 1 },
    });
    expect(countStatement(tally, "BEGIN", false)).toBe(true);
    expect(countStatement(tally, "ROLLBACK", true)).toBe(false);
    expect(tally.transactions).toBe(3);
  });

  it("counts Redis commands, the commands of one pipeline as one round trip", () => {
    const tally = emptyTally();
    const seen = new WeakSet<object>();
    const pipeline = {};
    countCommand(tally, "EVALSHA", undefined, seen);
    for (const name of ["multi", "zcard", "xlen", "exec"]) countCommand(tally, name, pipeline, seen);
    countCommand(tally, "evalsha", undefined, seen);
    expect(tally).toEqual({ roundTrips: 3, statements: 6, transactions: 0, explicitCommits: 0, byCommand: { evalsha: 2, multi: 1, zcard: 1, xlen: 1, exec: 1 } });
  });

  it("sums the workers' tallies and divides by the transitions", () => {
    const a = { roundTrips: 10, statements: 10, transactions: 6, explicitCommits: 1, byCommand: { INSERT: 7, SELECT: 3 } };
    const b = { roundTrips: 5, statements: 5, transactions: 5, explicitCommits: 0, byCommand: { SELECT: 5 } };
    const figures = roundTripFigures(sumTallies([a, b]), 4, serverDelta({ kind: "postgres", xactCommit: 100 }, { kind: "postgres", xactCommit: 112 }));
    expect(figures).toEqual({
      per_transition: 3.75,
      total: 15,
      statements: 15,
      statements_per_transition: 3.75,
      transactions: 11,
      transactions_per_transition: 2.75,
      explicit_commits: 1,
      by_command: { SELECT: 8, INSERT: 7 },
      server: { xact_commit: 12, xact_commit_per_transition: 3 },
    });
    expect(a.byCommand).toEqual({ INSERT: 7, SELECT: 3 });
  });

  it("reads INFO commandstats and keeps the commands called between two readings", () => {
    const before = parseCommandstats("# Commandstats\r\ncmdstat_evalsha:calls=10,usec=50,usec_per_call=5.00\r\ncmdstat_xgroup|create:calls=1,usec=3\r\n");
    expect(before).toEqual({ evalsha: 10, "xgroup|create": 1 });
    const after = { evalsha: 16, "xgroup|create": 1, hmget: 2 };
    expect(commandstatsDelta(before, after)).toEqual({ evalsha: 6, hmget: 2 });
    expect(roundTripFigures(emptyTally(), 2, serverDelta({ kind: "redis", byCommand: before }, { kind: "redis", byCommand: after })).server).toEqual({
      calls: 8,
      calls_per_transition: 4,
      by_command: { evalsha: 6, hmget: 2 },
    });
  });

  it("counts the statements better-sqlite3 runs while installed, and none once uninstalled", () => {
    const db = new Database(":memory:");
    const counter = countSqlite();
    try {
      db.exec("CREATE TABLE t (x INTEGER)");
      counter.reset();
      const insert = db.prepare("INSERT INTO t VALUES (?)");
      db.transaction(() => {
        insert.run(1);
        insert.run(2);
      })();
      expect(db.prepare("SELECT count(*) AS n FROM t").get()).toEqual({ n: 2 });
      expect([...db.prepare("SELECT x FROM t").iterate()]).toHaveLength(2);
      expect(db.prepare("SELECT x FROM t").all()).toHaveLength(2);
      db.exec("DELETE FROM t");
      expect(counter.tally).toEqual({
        roundTrips: 8,
        statements: 8,
        transactions: 5,
        explicitCommits: 1,
        byCommand: { BEGIN: 1, INSERT: 2, COMMIT: 1, SELECT: 3, DELETE: 1 },
      });
    } finally {
      counter.uninstall();
    }
    db.prepare("SELECT 1").get();
    expect(counter.tally.statements).toBe(8);
    db.close();
  });
});
