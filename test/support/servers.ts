/**
 * The real servers the cluster tests use (PostgreSQL, Redis, Memcached on this machine and in CI),
 * names unique to a test run, how to remove what a run left behind, and what the multi-process
 * tests share (effects logs, waiting for progress, a server that never answers).
 */
import { randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";
import { createServer, type Socket } from "node:net";
import { Redis } from "ioredis";
import pg from "pg";

export const POSTGRES_URL = process.env.SWITCHYARD_TEST_POSTGRES ?? "postgres://postgres@127.0.0.1:5432/test";
export const REDIS_URL = process.env.SWITCHYARD_TEST_REDIS ?? "redis://127.0.0.1:6379/0";
export const MEMCACHED_URL = process.env.SWITCHYARD_TEST_MEMCACHED ?? "memcached://127.0.0.1:11211";

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
