/**
 * Round trips per transition: the tallies the benchmark's counters fill (see bench/counters.ts),
 * summed over worker processes and turned into the `round_trips` figures of the JSON. Pure: no
 * driver, no I/O.
 *
 * A tally counts what a process sent its store: SQL statements (SQLite, PostgreSQL) or Redis
 * commands. Each SQL statement is one round trip; Redis commands sent in one pipeline share one.
 * A transaction is a commit: an explicit COMMIT, or a statement run outside an explicit
 * transaction (autocommit, reads included), as `pg_stat_database.xact_commit` counts them.
 */

/** What one process (or several, summed) sent to its store. */
export interface Tally {
  /** Requests that each waited for the store's answer: statements, or Redis pipelines and single commands. */
  roundTrips: number;
  /** SQL statements, or Redis commands. */
  statements: number;
  /** Commits: explicit ones plus autocommit statements (SQL only; 0 for Redis). */
  transactions: number;
  /** Of those, explicit COMMITs. */
  explicitCommits: number;
  /** Statements by their first keyword (INSERT, SELECT, WITH, COMMIT …), or Redis commands by name. */
  byCommand: Record<string, number>;
}

export function emptyTally(): Tally {
  return { roundTrips: 0, statements: 0, transactions: 0, explicitCommits: 0, byCommand: {} };
}

/** The first keyword of `sql`, upper-case, past leading blanks, comments and parentheses ("?" if none). */
export function statementKeyword(sql: string): string {
  const match = /^(?:\s+|--[^\n]*(?:\n|$)|\/\*[\s\S]*?\*\/|\()*([A-Za-z]+)/.exec(sql);
  return match?.[1]?.toUpperCase() ?? "?";
}

/** Keywords that open an explicit transaction, and that end one. */
const OPENS = new Set(["BEGIN", "START"]);
const COMMITS = new Set(["COMMIT", "END"]);
const ROLLS_BACK = new Set(["ROLLBACK", "ABORT"]);

/**
 * Count one SQL statement. `inTransaction` says whether its connection was inside an explicit
 * transaction when it ran; returns whether it is inside one afterwards.
 */
export function countStatement(tally: Tally, sql: string, inTransaction: boolean): boolean {
  const keyword = statementKeyword(sql);
  tally.roundTrips++;
  tally.statements++;
  tally.byCommand[keyword] = (tally.byCommand[keyword] ?? 0) + 1;
  if (OPENS.has(keyword)) return true;
  if (COMMITS.has(keyword)) {
    tally.transactions++;
    tally.explicitCommits++;
    return false;
  }
  // ROLLBACK TO SAVEPOINT stays inside the transaction.
  if (ROLLS_BACK.has(keyword)) return /^\s*rollback\s+(?:transaction\s+|work\s+)?to\b/i.test(sql);
  if (!inTransaction) tally.transactions++;
  return inTransaction;
}

/**
 * Count one Redis command. `pipeline` is the pipeline it was sent in (undefined if sent alone):
 * the commands of one pipeline share one round trip, counted with its first command.
 */
export function countCommand(tally: Tally, name: string, pipeline: object | undefined, pipelinesSeen: WeakSet<object>): void {
  const command = name.toLowerCase();
  tally.statements++;
  tally.byCommand[command] = (tally.byCommand[command] ?? 0) + 1;
  if (pipeline === undefined) tally.roundTrips++;
  else if (!pipelinesSeen.has(pipeline)) {
    pipelinesSeen.add(pipeline);
    tally.roundTrips++;
  }
}

/** The sum of several tallies (one per worker process). */
export function sumTallies(tallies: readonly Tally[]): Tally {
  const sum = emptyTally();
  for (const tally of tallies) {
    sum.roundTrips += tally.roundTrips;
    sum.statements += tally.statements;
    sum.transactions += tally.transactions;
    sum.explicitCommits += tally.explicitCommits;
    for (const [command, n] of Object.entries(tally.byCommand)) sum.byCommand[command] = (sum.byCommand[command] ?? 0) + n;
  }
  return sum;
}

/** `INFO commandstats` as calls per command (`cmdstat_get:calls=5,usec=…` → `{ get: 5 }`). */
export function parseCommandstats(info: string): Record<string, number> {
  const calls: Record<string, number> = {};
  for (const match of info.matchAll(/^cmdstat_([^:]+):calls=(\d+)/gm)) calls[match[1] as string] = Number(match[2]);
  return calls;
}

/** Calls per command between two `INFO commandstats` readings; commands not called are left out. */
export function commandstatsDelta(before: Record<string, number>, after: Record<string, number>): Record<string, number> {
  const delta: Record<string, number> = {};
  for (const [command, calls] of Object.entries(after)) {
    const n = calls - (before[command] ?? 0);
    if (n > 0) delta[command] = n;
  }
  return delta;
}

/** What the server itself counted over the run, as a cross-check of the tally. */
export type ServerCount =
  | { readonly kind: "postgres"; readonly xactCommit: number }
  | { readonly kind: "redis"; readonly byCommand: Record<string, number> };

/** What the server counted between two readings of it. */
export function serverDelta(before: ServerCount, after: ServerCount): ServerCount {
  if (before.kind === "postgres" && after.kind === "postgres") return { kind: "postgres", xactCommit: after.xactCommit - before.xactCommit };
  if (before.kind === "redis" && after.kind === "redis") return { kind: "redis", byCommand: commandstatsDelta(before.byCommand, after.byCommand) };
  throw new Error(`cannot compare a ${before.kind} reading with a ${after.kind} one`);
}

/** The `round_trips` object of the JSON. */
export interface RoundTripFigures {
  /** Round trips per transition: `total` / transitions. */
  readonly per_transition: number;
  /** Round trips in all (statements; Redis pipelines count once). */
  readonly total: number;
  readonly statements: number;
  readonly statements_per_transition: number;
  readonly transactions: number;
  readonly transactions_per_transition: number;
  /** Of the transactions, explicit COMMITs (SQLite's group commits); the rest ran outside a transaction. */
  readonly explicit_commits: number;
  readonly by_command: Record<string, number>;
  readonly server?: Record<string, unknown>;
}

const perTransition = (n: number, transitions: number) => Number((n / Math.max(1, transitions)).toFixed(2));

/** Sorted by count, largest first, so the JSON reads from the costliest command down. */
function byCount(counts: Record<string, number>): Record<string, number> {
  return Object.fromEntries(Object.entries(counts).sort(([a, x], [b, y]) => y - x || a.localeCompare(b)));
}

/** The figures of `tally` over `transitions`, with the server's own count beside them if there is one. */
export function roundTripFigures(tally: Tally, transitions: number, server?: ServerCount): RoundTripFigures {
  const figures: RoundTripFigures = {
    per_transition: perTransition(tally.roundTrips, transitions),
    total: tally.roundTrips,
    statements: tally.statements,
    statements_per_transition: perTransition(tally.statements, transitions),
    transactions: tally.transactions,
    transactions_per_transition: perTransition(tally.transactions, transitions),
    explicit_commits: tally.explicitCommits,
    by_command: byCount(tally.byCommand),
  };
  if (server === undefined) return figures;
  if (server.kind === "postgres") {
    return { ...figures, server: { xact_commit: server.xactCommit, xact_commit_per_transition: perTransition(server.xactCommit, transitions) } };
  }
  const calls = Object.values(server.byCommand).reduce((n, c) => n + c, 0);
  return { ...figures, server: { calls, calls_per_transition: perTransition(calls, transitions), by_command: byCount(server.byCommand) } };
}
