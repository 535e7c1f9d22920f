/**
 * The global setup of `npm test` (test/support/global-setup.ts): a server nothing answers for is
 * started from its installed binary, or its suites are skipped with one line saying why — or, with
 * CI set, the run fails with that line. Directories a killed run left behind go at the next run.
 */
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { connect } from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import { Redis } from "ioredis";
import pg from "pg";
import { describe, expect, inject, it } from "vitest";
import { prepareServers } from "../support/global-setup.js";
import { MEMCACHED_URL, needs, POSTGRES_URL, REDIS_URL, uniqueName } from "../support/servers.js";

/** Nothing listens on port 1 of the loopback. */
const NOWHERE = {
  SWITCHYARD_TEST_POSTGRES: "postgres://postgres@127.0.0.1:1/test",
  SWITCHYARD_TEST_REDIS: "redis://127.0.0.1:1/0",
  SWITCHYARD_TEST_MEMCACHED: "memcached://127.0.0.1:1",
};

describe("test servers", () => {
  it("hands this run's URLs and missing servers to the test files", () => {
    const provided = inject("switchyardServers");
    expect(provided.urls).toEqual({ postgres: POSTGRES_URL, redis: REDIS_URL, memcached: MEMCACHED_URL });
    for (const server of ["postgres", "redis", "memcached"] as const) expect(needs(server).skip).toBe(provided.unavailable[server] !== undefined);
  });

  it("skips the suites of a server nothing answers for and none is installed, with one line each", async () => {
    const lines: string[] = [];
    const servers = await prepareServers({ env: { ...NOWHERE }, log: (line) => lines.push(line), binaryDirs: [] });
    expect(lines).toEqual([
      "switchyard tests: skipping the PostgreSQL suites: nothing answers at 127.0.0.1:1 and no postgres binary was found; start one or set SWITCHYARD_TEST_POSTGRES",
      "switchyard tests: skipping the Redis suites: nothing answers at 127.0.0.1:1 and no redis-server binary was found; start one or set SWITCHYARD_TEST_REDIS",
      "switchyard tests: skipping the Memcached suites: nothing answers at 127.0.0.1:1 and no memcached binary was found; start one or set SWITCHYARD_TEST_MEMCACHED",
    ]);
    expect(Object.keys(servers.unavailable).sort()).toEqual(["memcached", "postgres", "redis"]);
    expect(servers.urls.redis).toBe(NOWHERE.SWITCHYARD_TEST_REDIS);
    await servers.stop();
  });

  it("with CI set, fails instead of skipping", async () => {
    const lines: string[] = [];
    const prepared = prepareServers({ env: { ...NOWHERE, CI: "true" }, log: (line) => lines.push(line), binaryDirs: [], servers: ["redis"] });
    await expect(prepared).rejects.toThrow(
      new Error(
        "switchyard tests: the Redis suites cannot run and CI is set, so nothing is skipped: nothing answers at 127.0.0.1:1 and no redis-server binary was found; start one or set SWITCHYARD_TEST_REDIS",
      ),
    );
    expect(lines).toEqual([]);
  });

  it("creates the database the PostgreSQL URL names when the server runs without it", needs("postgres"), async () => {
    const database = uniqueName("sy_setup");
    const url = new URL(POSTGRES_URL);
    url.pathname = `/${database}`;
    const lines: string[] = [];
    const servers = await prepareServers({ env: { SWITCHYARD_TEST_POSTGRES: url.toString() }, log: (line) => lines.push(line), binaryDirs: [], servers: ["postgres"] });
    const admin = new pg.Client({ connectionString: POSTGRES_URL });
    await admin.connect();
    try {
      expect(lines).toEqual([`switchyard tests: created the database ${database} on the PostgreSQL server at ${url.host}`]);
      expect([servers.urls.postgres, servers.unavailable]).toEqual([url.toString(), {}]);
      const { rows } = await admin.query("SELECT 1 FROM pg_database WHERE datname = $1", [database]);
      expect(rows).toHaveLength(1);
    } finally {
      await admin.query(`DROP DATABASE IF EXISTS "${database}"`);
      await admin.end();
      await servers.stop();
    }
  });

  it("removes the server directories a run stopped before its teardown left behind, not those of a live run", async () => {
    const gone = spawnSync(process.execPath, ["-e", ""]).pid;
    const abandoned = mkdtempSync(path.join(tmpdir(), "switchyard-test-redis-"));
    const live = mkdtempSync(path.join(tmpdir(), "switchyard-test-redis-"));
    writeFileSync(path.join(abandoned, "owner.pid"), String(gone));
    writeFileSync(path.join(live, "owner.pid"), String(process.pid));
    try {
      await (await prepareServers({ env: {}, log: () => {}, servers: [] })).stop();
      expect([existsSync(abandoned), existsSync(live)]).toEqual([false, true]);
    } finally {
      rmSync(abandoned, { recursive: true, force: true });
      rmSync(live, { recursive: true, force: true });
    }
  });

  it("starts the installed redis-server on a free loopback port, hands its URL on, and stops it at the end", async () => {
    const lines: string[] = [];
    const servers = await prepareServers({ env: { ...NOWHERE, PATH: process.env.PATH }, log: (line) => lines.push(line), servers: ["redis"] });
    const url = servers.urls.redis;
    const redis = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 0 });
    try {
      expect(url).toMatch(/^redis:\/\/127\.0\.0\.1:\d+\/0$/);
      expect(servers.unavailable).toEqual({});
      expect(lines).toEqual([expect.stringMatching(/^switchyard tests: nothing answers at 127\.0\.0\.1:1, so this run started \S*redis-server at 127\.0\.0\.1:\d+ \(stopped at the end\)$/)]);
      await redis.connect();
      expect(await redis.ping()).toBe("PONG");
    } finally {
      redis.disconnect();
      await servers.stop();
    }
    const { port } = new URL(url);
    const refused = await new Promise<string>((resolve) => {
      const socket = connect({ host: "127.0.0.1", port: Number(port) }, () => {
        socket.destroy();
        resolve("connected");
      });
      socket.on("error", (error: NodeJS.ErrnoException) => resolve(error.code ?? error.message));
    });
    expect(refused).toBe("ECONNREFUSED");
  });
});
