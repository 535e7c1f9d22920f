/**
 * The real servers the cluster tests use (PostgreSQL, Redis, Memcached on this machine and in CI),
 * which of them this run has (`needs`), names unique to a test run, how to remove what a run left
 * behind, and what the multi-process tests share (effects logs, waiting for progress, a server
 * that never answers).
 *
 * The URLs and the missing servers come from the global setup (`global-setup.ts`, through vitest's
 * `provide`/`inject`), which may have started a server on another port; outside a vitest run with
 * that setup (the benchmark scripts, the chaos config) they come from the environment variables.
 */
import { randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";
import { createServer, type Socket } from "node:net";
import { Redis } from "ioredis";
import pg from "pg";
import { inject } from "vitest";

/** The servers some suites need; each has a URL variable and a default URL. */
export const TEST_SERVERS = {
  postgres: { title: "PostgreSQL", variable: "SWITCHYARD_TEST_POSTGRES", fallback: "postgres://postgres@127.0.0.1:5432/test", binary: "postgres" },
  redis: { title: "Redis", variable: "SWITCHYARD_TEST_REDIS", fallback: "redis://127.0.0.1:6379/0", binary: "redis-server" },
  memcached: { title: "Memcached", variable: "SWITCHYARD_TEST_MEMCACHED", fallback: "memcached://127.0.0.1:11211", binary: "memcached" },
} as const;

export type ServerName = keyof typeof TEST_SERVERS;

/** What the global setup hands to every test file. */
export interface ProvidedServers {
  /** The URL of every server, started by the setup or given. */
  readonly urls: Readonly<Record<ServerName, string>>;
  /** Why a server is missing, for each missing one. */
  readonly unavailable: Readonly<Partial<Record<ServerName, string>>>;
}

declare module "vitest" {
  export interface ProvidedContext {
    switchyardServers: ProvidedServers;
  }
}

/** The setup's answer, or nothing outside a test file of a run with that setup. */
function provided(): ProvidedServers | undefined {
  if (process.env.VITEST === undefined) return undefined;
  try {
    return inject("switchyardServers");
  } catch {
    // Imported by the global setup itself, in vitest's main process, where inject cannot answer.
    return undefined;
  }
}

const PROVIDED = provided();

/** The URL `env` gives for `server`, or its default. */
export function configuredUrl(server: ServerName, env: NodeJS.ProcessEnv = process.env): string {
  const { variable, fallback } = TEST_SERVERS[server];
  return env[variable] ?? fallback;
}

export const POSTGRES_URL = PROVIDED?.urls.postgres ?? configuredUrl("postgres");
export const REDIS_URL = PROVIDED?.urls.redis ?? configuredUrl("redis");
export const MEMCACHED_URL = PROVIDED?.urls.memcached ?? configuredUrl("memcached");

/** Why the first of `servers` missing from this run is missing, or nothing when all are there. */
export function missing(...servers: ServerName[]): string | undefined {
  for (const server of servers) {
    const reason = PROVIDED?.unavailable[server];
    if (reason !== undefined) return reason;
  }
  return undefined;
}

/**
 * The options of a `describe` or `it` that needs real servers: skipped when one of `servers` is
 * missing from this run (the global setup printed why, once per server; with CI set it failed).
 *
 * @example
 * describe("operations on PostgreSQL + Redis", needs("postgres", "redis"), () => { ... });
 */
export function needs(...servers: ServerName[]): { skip: boolean } {
  return { skip: missing(...servers) !== undefined };
}

/** A lower-case name unique to this run, usable as a schema name and a key prefix. */
export function uniqueName(prefix: string): string {
  return `${prefix}_${randomBytes(5).toString("hex")}`;
}

/** A name for one test's scratch directory, unique within the run (schemas and prefixes). */
export function nameFor(run: string, dir: string, side: string): string {
  return `${run}_${dir.slice(-6).toLowerCase().replace(/[^a-z0-9]/g, "x")}_${side}`;
}

/** Drop every PostgreSQL schema whose name starts with `prefix`. */
export async function dropSchemas(prefix: string, url = POSTGRES_URL): Promise<void> {
  // A file whose PostgreSQL suites were skipped created nothing there.
  if (url === POSTGRES_URL && missing("postgres") !== undefined) {
    return;
  }
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const { rows } = await client.query<{ nspname: string }>("SELECT nspname FROM pg_namespace WHERE nspname LIKE $1", [`${prefix}%`]);
    for (const { nspname } of rows) await client.query(`DROP SCHEMA IF EXISTS "${nspname}" CASCADE`);
  } finally {
    await client.end();
  }
}

/** Delete every Redis key that contains `fragment`. */
export async function deleteRedisKeys(fragment: string, url = REDIS_URL): Promise<void> {
  if (url === REDIS_URL && missing("redis") !== undefined) {
    return;
  }
  const redis = new Redis(url, { lazyConnect: true });
  await redis.connect();
  try {
    let cursor = "0";
    do {
      const [next, keys] = await redis.scan(cursor, "MATCH", `*${fragment}*`, "COUNT", 1000);
      cursor = next;
      if (keys.length > 0) await redis.del(...keys);
    } while (cursor !== "0");
  } finally {
    redis.disconnect();
  }
}

/** A TCP server on a free loopback port that accepts connections and never answers. */
export async function silentServer(): Promise<{ port: number; close(): Promise<void> }> {
  const sockets: Socket[] = [];
  const server = createServer((socket) => sockets.push(socket));
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as { port: number };
  return {
    port,
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}

/** The non-empty lines of a file (the effects logs the crash fixtures append to). */
export function lines(file: string): string[] {
  return readFileSync(file, "utf8").split("\n").filter(Boolean);
}

/** Poll `condition` every 20 ms until it holds; fail after `timeoutMs`. */
export async function waitFor(condition: () => boolean, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for the workers to make progress`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
