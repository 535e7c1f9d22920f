/**
 * The journal's instance list at scale: seeds N instances (default 1,000,000) into a SQLite file or
 * a PostgreSQL schema, then times the first and the fifth page (following cursors) of `listPage`
 * for each filter combination the dashboard uses, and `stateCounts`. The machine is shared and
 * noisy: the figures say whether a page walks an index (milliseconds) or scans (hundreds).
 *
 *   npm run bench:list -- --backend sqlite|postgres [--instances 1000000] [--reuse] [--runs 20] [--explain]
 */
import { existsSync, rmSync } from "node:fs";
import { parseArgs } from "node:util";
import Database from "better-sqlite3";
import pg from "pg";
import { postgresDialect } from "../src/backends/postgres/dialect.js";
import { type ListProbe, listProbes, listQuery, SPARSE_PREFIX, stateCountsQuery } from "../src/backends/sql/instance-list.js";
import { SQLITE_DIALECT } from "../src/backends/sqlite/dialect.js";
import { type ListPageOptions, listPage } from "../src/client/list-page.js";
import { silentLogger } from "../src/logger.js";
import { type InstanceRecord, type JournalPort, type ListOptions, type StoredStatus, systemClock } from "../src/ports.js";
import { openBackend } from "../src/settings/backends.js";

const USAGE = `usage: npm run bench:list -- --backend sqlite|postgres [options]

Seeds N instances (several machines, versions and states; most completed, some waiting, a few
failed, aborted or paused) through the journal's createInstances, 5,000 per call, then times the
first and the fifth page (limit 50) of listPage for each filter combination, and stateCounts.

  --backend B     sqlite (a file, SWITCHYARD_BENCH_LIST_FILE, default /tmp/switchyard-bench-list-N.db)
                  or postgres (schema bench_list_N at SWITCHYARD_BENCH_POSTGRES, default
                  postgres://postgres@127.0.0.1:5432/test)
  --instances N   instances to seed (default 1000000)
  --reuse         keep the seeded file or schema when it holds N instances (else it is seeded anew)
  --runs R        timed runs per figure (default 20)
  --explain       print each listing's query plan
  --drop          delete the file or schema at the end
  --help          show this help`;

const PAGE = 50;
const BATCH = 5_000;

/** machine, share of the instances, its states (resting ones first), whether it is versioned. */
const MACHINES = [
  { name: "order", share: 0.5, states: ["awaiting_payment", "review", "packing", "charging"], versioned: true },
  { name: "payment", share: 0.25, states: ["authorizing", "capturing", "awaiting_3ds"], versioned: true },
  { name: "shipment", share: 0.15, states: ["label", "in_transit", "awaiting_pickup"], versioned: true },
  { name: "refund", share: 0.09, states: ["approval", "payout"], versioned: true },
  { name: "audit", share: 0.01, states: ["collecting", "signing"], versioned: false },
] as const;
const TENANTS = 200;

/** A deterministic generator, so two seeds of the same N are the same rows. */
function mulberry32(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function pick<T>(random: () => number, weighted: readonly (readonly [T, number])[]): T {
  let r = random();
  for (const [value, weight] of weighted) {
    r -= weight;
    if (r < 0) return value;
  }
  return (weighted[weighted.length - 1] as readonly [T, number])[0];
}

const STATUSES: readonly (readonly [StoredStatus, number])[] = [
  ["completed", 0.88],
  ["waiting", 0.08],
  ["running", 0.02],
  ["failed", 0.015],
  ["aborted", 0.005],
];

/** Instance `i` of `n`: started one second apart (two per millisecond now and then), oldest first. */
function instance(random: () => number, i: number, n: number, now: number): { record: InstanceRecord; pause: boolean } {
  const machine = pick(
    random,
    MACHINES.map((m) => [m, m.share] as const),
  );
  const status = pick(random, STATUSES);
  const resting = machine.states[Math.floor(random() * random() * machine.states.length)] as string;
  const state = status === "completed" ? "done" : status === "aborted" ? "cancelled" : resting;
  const version = machine.versioned ? pick(random, [[`${machine.name}-v3`, 0.7], [`${machine.name}-v2`, 0.25], [`${machine.name}-v1`, 0.05]] as const) : undefined;
  const tenant = String(Math.floor(random() * TENANTS)).padStart(3, "0");
  const startedAt = now - (n - i) * 1000 + (i % 7 === 0 ? 0 : Math.floor(random() * 900));
  const updatedAt = startedAt + Math.floor(random() * 60_000);
  const record: InstanceRecord = {
    correlationId: `${machine.name}-t${tenant}-${String(i).padStart(8, "0")}`,
    machineName: machine.name,
    status,
    state,
    userContext: { amount: Math.floor(random() * 10_000) / 100, customer: `c${Math.floor(random() * 50_000)}`, items: Math.floor(random() * 5) + 1 },
    startedAt,
    updatedAt,
    version,
  };
  return { record, pause: status === "waiting" && random() < 0.05 };
}

async function seed(journal: JournalPort, n: number): Promise<void> {
  const random = mulberry32(42);
  const now = Date.now();
  const paused: string[] = [];
  const t0 = performance.now();
  for (let from = 0; from < n; from += BATCH) {
    const batch: InstanceRecord[] = [];
    for (let i = from; i < Math.min(n, from + BATCH); i++) {
      const { record, pause } = instance(random, i, n, now);
      batch.push(record);
      if (pause) paused.push(record.correlationId);
    }
    await journal.createInstances(batch);
    if ((from / BATCH) % 20 === 19) process.stderr.write(`  seeded ${(from + BATCH).toLocaleString("en-US")} (${((performance.now() - t0) / 1000).toFixed(0)} s)\n`);
  }
  for (let at = 0; at < paused.length; at += 200) await Promise.all(paused.slice(at, at + 200).map((id) => journal.setPaused(id, true)));
  process.stderr.write(`seeded ${n.toLocaleString("en-US")} instances (${paused.length} paused) in ${((performance.now() - t0) / 1000).toFixed(1)} s\n`);
}

/** The filter combinations a dashboard pages through. */
const CASES: readonly { readonly name: string; readonly filters: Omit<ListOptions, "after" | "limit"> }[] = [
  { name: "none", filters: {} },
  { name: "machine", filters: { machineName: "order" } },
  { name: "machine (1% of rows)", filters: { machineName: "audit" } },
  { name: "status failed", filters: { status: "failed" } },
  { name: "status paused", filters: { status: "paused" } },
  { name: "machine+status", filters: { machineName: "order", status: "waiting" } },
  { name: "machine+status (rare)", filters: { machineName: "refund", status: "failed" } },
  { name: "machine+state", filters: { machineName: "order", state: "charging" } },
  { name: "machine+state+status", filters: { machineName: "payment", state: "awaiting_3ds", status: "waiting" } },
  { name: "version (5%)", filters: { version: "payment-v1" } },
  { name: "machine+version", filters: { machineName: "order", version: "order-v2" } },
  { name: "state alone", filters: { state: "review" } },
  { name: "prefix (0.25%)", filters: { idPrefix: "order-t042-" } },
  { name: "prefix (50%)", filters: { idPrefix: "order-" } },
  { name: "prefix+status", filters: { idPrefix: "order-t042-", status: "waiting" } },
];

function stats(samples: number[]): { median: number; max: number } {
  const sorted = [...samples].sort((a, b) => a - b);
  return { median: sorted[Math.floor((sorted.length - 1) / 2)] as number, max: sorted[sorted.length - 1] as number };
}

async function timed(runs: number, body: () => Promise<unknown>): Promise<{ median: number; max: number }> {
  const samples: number[] = [];
  for (let run = 0; run < runs; run++) {
    const t0 = performance.now();
    await body();
    samples.push(performance.now() - t0);
  }
  return stats(samples);
}

/** EXPLAIN of the statement `list` runs for `options`, one line per plan node. */
type Explain = (options: ListOptions) => Promise<string>;

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      backend: { type: "string" },
      instances: { type: "string" },
      runs: { type: "string" },
      reuse: { type: "boolean" },
      explain: { type: "boolean" },
      drop: { type: "boolean" },
      help: { type: "boolean" },
    },
  });
  if (values.help === true) return void console.log(USAGE);
  const backend = values.backend;
  if (backend !== "sqlite" && backend !== "postgres") throw new Error(`--backend must be sqlite or postgres\n\n${USAGE}`);
  const n = Number(values.instances ?? 1_000_000);
  const runs = Number(values.runs ?? 20);
  if (!Number.isInteger(n) || n < 1 || !Number.isInteger(runs) || runs < 1) throw new Error("--instances and --runs must be positive integers");

  let uri: string;
  let explain: Explain;
  let drop: () => Promise<void>;
  let prepare: () => Promise<void> = async () => {};
  const closers: (() => unknown)[] = [];
  if (backend === "sqlite") {
    const file = process.env.SWITCHYARD_BENCH_LIST_FILE ?? `/tmp/switchyard-bench-list-${n}.db`;
    if (values.reuse !== true) for (const suffix of ["", "-wal", "-shm"]) rmSync(`${file}${suffix}`, { force: true });
    uri = `sqlite:${file}`;
    drop = async () => {
      for (const suffix of ["", "-wal", "-shm"]) rmSync(`${file}${suffix}`, { force: true });
    };
    explain = async (options) => {
      const db = new Database(file, { readonly: true });
      try {
        const { sql, params } = sqliteQuery(db, options);
        return db
          .prepare(`EXPLAIN QUERY PLAN ${sql}`)
          .all(...params)
          .map((row) => (row as { detail: string }).detail)
          .join("; ");
      } finally {
        db.close();
      }
    };
    if (values.reuse === true && !existsSync(file)) process.stderr.write(`no ${file} yet: seeding\n`);
  } else {
    const base = process.env.SWITCHYARD_BENCH_POSTGRES ?? "postgres://postgres@127.0.0.1:5432/test";
    const schema = `bench_list_${n}`;
    const client = new pg.Client({ connectionString: base });
    await client.connect();
    closers.push(() => client.end());
    if (values.reuse !== true) await client.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
    uri = `${base}?schema=${schema}`;
    drop = async () => void (await client.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`));
    // What autovacuum does soon after a bulk load: statistics for the planner, the visibility map.
    prepare = async () => void (await client.query(`VACUUM ANALYZE ${schema}.instances`));
    const dialect = postgresDialect((name) => `${schema}.${name}`);
    explain = async (options) => {
      const { sql, params } = listQuery(dialect, options);
      // A prepared statement, as the journal runs it (its first executions get custom plans).
      await client.query(`PREPARE bench_explain AS ${sql}`);
      try {
        const literal = params.map((p) => (p === null ? "NULL" : typeof p === "number" ? String(p) : `'${String(p).replaceAll("'", "''")}'`));
        const { rows } = await client.query(`EXPLAIN (COSTS OFF) EXECUTE bench_explain${literal.length === 0 ? "" : `(${literal.join(", ")})`}`);
        return rows.map((row: { "QUERY PLAN": string }) => row["QUERY PLAN"].trim()).join("; ");
      } finally {
        await client.query("DEALLOCATE bench_explain");
      }
    };
  }

  const store = await openBackend(uri, { clock: systemClock, baseDir: process.cwd(), endpoints: {}, logger: silentLogger });
  const journal = store.journal?.();
  if (journal === undefined) throw new Error(`${uri} has no journal`);
  try {
    const held = (await journal.stateCounts({})).counts.reduce((sum, count) => sum + count.count, 0);
    if (held !== n) {
      if (held !== 0) throw new Error(`${uri} holds ${held} instances, not ${n}: run without --reuse to seed it anew`);
      await seed(journal, n);
      await prepare();
    } else {
      process.stderr.write(`reusing ${n.toLocaleString("en-US")} seeded instances\n`);
    }

    console.log(`journal list on ${backend}, ${n.toLocaleString("en-US")} instances, pages of ${PAGE}, ${runs} runs each (ms)`);
    console.log(`${"filters".padEnd(24)} ${"page 1 median".padStart(14)} ${"max".padStart(8)} ${"page 5 median".padStart(14)} ${"max".padStart(8)}  rows`);
    for (const { name, filters } of CASES) {
      const options: ListPageOptions = { ...filters, limit: PAGE };
      let rows = 0;
      const first = await timed(runs, async () => void (rows = (await listPage(journal, options)).instances.length));
      let after: string | undefined;
      for (let page = 1; page < 5; page++) after = (await listPage(journal, { ...options, after })).next;
      const fifth = after === undefined ? undefined : await timed(runs, () => listPage(journal, { ...options, after }));
      const cell = (value: number | undefined, width: number) => (value === undefined ? "-" : value.toFixed(1)).padStart(width);
      console.log(`${name.padEnd(24)} ${cell(first.median, 14)} ${cell(first.max, 8)} ${cell(fifth?.median, 14)} ${cell(fifth?.max, 8)}  ${rows}`);
      if (values.explain === true) {
        console.log(`    plan: ${await explain({ ...filters, limit: PAGE + 1 })}`);
        console.log(`    page 5: ${await explain({ ...filters, limit: PAGE + 1, after: { startedAt: Date.now(), correlationId: "x" } })}`);
      }
    }
    const countRuns = Math.min(runs, 5);
    let cells = 0;
    const all = await timed(countRuns, async () => void (cells = (await journal.stateCounts({})).counts.length));
    const one = await timed(countRuns, () => journal.stateCounts({ machineName: "order" }));
    console.log(`stateCounts, every machine: median ${all.median.toFixed(1)} ms, max ${all.max.toFixed(1)} ms (${cells} cells, ${countRuns} runs)`);
    console.log(`stateCounts, one machine (50%): median ${one.median.toFixed(1)} ms, max ${one.max.toFixed(1)} ms`);
    if (values.explain === true && backend === "sqlite") {
      const db = new Database(uri.slice("sqlite:".length), { readonly: true });
      const { sql } = stateCountsQuery(SQLITE_DIALECT, {});
      console.log(`    stateCounts plan: ${db.prepare(`EXPLAIN QUERY PLAN ${sql}`).all().map((row) => (row as { detail: string }).detail).join("; ")}`);
      db.close();
    }
  } finally {
    await store.close();
    if (values.drop === true) await drop();
    for (const close of closers) await close();
  }
}

/** The listing's statement as the journal chooses it and better-sqlite3 takes it: `?` placeholders, parameters in their order. */
function sqliteQuery(db: Database.Database, options: ListOptions): { sql: string; params: unknown[] } {
  const positional = ({ sql, params }: { sql: string; params: unknown[] }) => {
    const order: unknown[] = [];
    const text = sql.replace(/\$(\d+)/g, (_, at: string) => {
      order.push(params[Number(at) - 1]);
      return "?";
    });
    return { sql: text, params: order };
  };
  const sparse = new Set<ListProbe>();
  for (const { probe, query } of listProbes(SQLITE_DIALECT, options)) {
    const counted = positional(query);
    if ((db.prepare(counted.sql).get(...counted.params) as { count: number }).count < SPARSE_PREFIX) sparse.add(probe);
  }
  return positional(listQuery(SQLITE_DIALECT, options, sparse));
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : error);
  process.exitCode = 1;
});
