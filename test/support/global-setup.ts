/**
 * vitest's global setup: make sure the servers some suites need (PostgreSQL, Redis, Memcached)
 * answer, so that `npm test` works on a machine where none was started by hand.
 *
 * For each server, at the URL its variable gives (SWITCHYARD_TEST_POSTGRES, _REDIS, _MEMCACHED) or
 * its default: if something answers, use it; if not, start the server binary found in PATH (or,
 * for PostgreSQL, in /usr/lib/postgresql/<version>/bin) on a free loopback port in a temporary
 * directory, for this run only, and stop it at teardown; if none is installed, or it will not
 * start, the suites that need it are skipped, with one line saying why. With CI set, that line is
 * an error instead: CI runs every suite or fails.
 *
 * The URLs and the missing servers reach the test files through `provide` (see `needs` in
 * servers.ts), so forked workers see them without environment variables.
 */
import { type ChildProcess, execFile, spawn } from "node:child_process";
import { accessSync, chownSync, constants, mkdtempSync, readdirSync, readFileSync, realpathSync, rmSync, writeFileSync } from "node:fs";
import { createConnection, createServer } from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import pg from "pg";
import type { TestProject } from "vitest/node";
import { type ProvidedServers, type ServerName, configuredUrl, TEST_SERVERS } from "./servers.js";

const SERVER_NAMES = Object.keys(TEST_SERVERS) as ServerName[];
/** How long a probe waits for an answer, and how long a started server may take to answer. */
const PROBE_TIMEOUT_MS = 2_000;
const START_TIMEOUT_MS = 30_000;

export interface ServerOptions {
  /** Where the URL variables and CI are read. */
  readonly env: NodeJS.ProcessEnv;
  /** Where one line per started or missing server goes. */
  readonly log: (line: string) => void;
  /** The directories searched for server binaries, in order (default: PATH, then /usr/lib/postgresql/<version>/bin, newest first). */
  readonly binaryDirs?: readonly string[];
  /** The servers to prepare (default: all). */
  readonly servers?: readonly ServerName[];
}

export interface PreparedServers extends ProvidedServers {
  /** Stop what was started and remove its directories. */
  stop(): Promise<void>;
}

/** Is `env.CI` set to something other than false? */
function isCi(env: NodeJS.ProcessEnv): boolean {
  const value = env.CI?.trim().toLowerCase();
  return value !== undefined && value !== "" && value !== "0" && value !== "false";
}

/** Probe every server, start the missing ones it can, and say which are still missing. */
export async function prepareServers(options: ServerOptions): Promise<PreparedServers> {
  const ci = isCi(options.env);
  const dirs = options.binaryDirs ?? defaultBinaryDirs(options.env);
  removeAbandonedDirs();
  const started: Started[] = [];
  const urls = Object.fromEntries(SERVER_NAMES.map((server) => [server, configuredUrl(server, options.env)])) as Record<ServerName, string>;
  const unavailable: Partial<Record<ServerName, string>> = {};
  const stop = async () => {
    await Promise.all(started.map((server) => server.stop()));
  };
  try {
    await Promise.all(
      (options.servers ?? SERVER_NAMES).map(async (server) => {
        const { title, variable } = TEST_SERVERS[server];
        const url = urls[server];
        const answer = await probe(server, url);
        if (answer === "ok") {
          return;
        }
        let reason: string;
        if (answer === "no database") {
          const database = new URL(url).pathname.slice(1);
          try {
            await createDatabase(url);
            options.log(`switchyard tests: created the database ${database} on the PostgreSQL server at ${address(url)}`);
            return;
          } catch (error) {
            reason = `PostgreSQL at ${address(url)} has no database ${database} and creating it failed (${(error as Error).message}); create it or set ${variable}`;
          }
        } else if (answer !== "silent") {
          reason = `${title} at ${address(url)} answers but ${answer}; fix that or set ${variable}`;
        } else {
          const outcome = await startServer(server, dirs);
          if ("url" in outcome) {
            started.push(outcome);
            urls[server] = outcome.url;
            options.log(`switchyard tests: nothing answers at ${address(url)}, so this run started ${outcome.binary} at ${address(outcome.url)} (stopped at the end)`);
            return;
          }
          reason = `nothing answers at ${address(url)} and ${outcome.failure}; start one or set ${variable}`;
        }
        unavailable[server] = reason;
      }),
    );
    for (const server of SERVER_NAMES) {
      const reason = unavailable[server];
      if (reason === undefined) continue;
      const { title } = TEST_SERVERS[server];
      if (ci) throw new Error(`switchyard tests: the ${title} suites cannot run and CI is set, so nothing is skipped: ${reason}`);
      options.log(`switchyard tests: skipping the ${title} suites: ${reason}`);
    }
  } catch (error) {
    await stop();
    throw error;
  }
  return { urls, unavailable, stop };
}

/** vitest's entry point: prepare the servers, hand them to the test files, stop them at the end. */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const servers = await prepareServers({ env: process.env, log: (line) => process.stderr.write(`${line}\n`) });
  project.provide("switchyardServers", { urls: servers.urls, unavailable: servers.unavailable });
  return servers.stop;
}

/** `host:port` of a server URL. */
function address(url: string): string {
  const { hostname, port, protocol } = new URL(url);
  const defaults: Record<string, string> = { "postgres:": "5432", "postgresql:": "5432", "redis:": "6379", "memcached:": "11211" };
  return `${hostname || "127.0.0.1"}:${port || defaults[protocol] || ""}`;
}

/**
 * `ok` when the server answers its protocol's hello, `silent` when nothing answers (refused or
 * no answer in time), `no database` for a PostgreSQL server without the URL's database, or why a
 * server that answers cannot be used (a wrong password).
 */
async function probe(server: ServerName, url: string): Promise<"ok" | "silent" | "no database" | string> {
  if (server === "postgres") {
    const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: PROBE_TIMEOUT_MS });
    // A connection the server drops later must not crash the setup.
    client.on("error", () => {});
    try {
      await client.connect();
      await client.query("SELECT 1");
      return "ok";
    } catch (error) {
      const { code, message } = error as { code?: string; message: string };
      if (code === "ECONNREFUSED" || code === "ECONNRESET" || /timeout/i.test(message)) return "silent";
      // invalid_catalog_name: the server runs, the database does not exist.
      if (code === "3D000") return "no database";
      return message;
    } finally {
      await client.end().catch(() => {});
    }
  }
  const [hello, expected] = server === "redis" ? ["PING\r\n", /^[+-]/] : ["version\r\n", /^VERSION /];
  const [host, port] = address(url).split(":") as [string, string];
  return new Promise((resolve) => {
    const socket = createConnection({ host, port: Number(port) }, () => socket.write(hello));
    let text = "";
    const done = (answer: "ok" | "silent") => {
      socket.destroy();
      resolve(answer);
    };
    socket.setTimeout(PROBE_TIMEOUT_MS, () => done("silent"));
    socket.on("error", () => done("silent"));
    socket.on("data", (chunk) => {
      text += chunk.toString("utf8");
      if (text.includes("\r\n")) done(expected.test(text) ? "ok" : "silent");
    });
  });
}

/** The temporary directories of started servers: a name prefix, and a file holding the test run's pid. */
const DIR_PREFIX = "switchyard-test-";
const OWNER_FILE = "owner.pid";

/**
 * Remove the directories that runs stopped before their teardown (Ctrl-C: the servers, in the same
 * process group, stopped too) left behind: those whose run is gone.
 */
function removeAbandonedDirs(): void {
  for (const name of readdirSync(tmpdir())) {
    if (!name.startsWith(DIR_PREFIX)) continue;
    const dir = path.join(tmpdir(), name);
    let owner: number;
    try {
      owner = Number(readFileSync(path.join(dir, OWNER_FILE), "utf8"));
    } catch {
      continue;
    }
    if (!isRunning(owner)) rmSync(dir, { recursive: true, force: true });
  }
}

function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: it runs, as another user.
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
}

/** PATH, then the versioned PostgreSQL directories Debian and Ubuntu install to, newest first. */
function defaultBinaryDirs(env: NodeJS.ProcessEnv): string[] {
  const root = "/usr/lib/postgresql";
  let versions: string[] = [];
  try {
    versions = readdirSync(root).sort((a, b) => Number(b) - Number(a));
  } catch {
    // No such directory: PATH is all there is.
  }
  return [...(env.PATH ?? "").split(path.delimiter).filter(Boolean), ...versions.map((version) => path.join(root, version, "bin"))];
}

/** The first executable `name` in `dirs` (as found: redis-server is a link whose name matters). */
function findBinary(name: string, dirs: readonly string[]): string | undefined {
  for (const dir of dirs) {
    const file = path.join(dir, name);
    try {
      accessSync(file, constants.X_OK);
      return file;
    } catch {
      // Not here.
    }
  }
  return undefined;
}

interface Started {
  readonly url: string;
  readonly binary: string;
  stop(): Promise<void>;
}

/** Start `server` from the binaries in `dirs`, or say why it could not. */
async function startServer(server: ServerName, dirs: readonly string[]): Promise<Started | { failure: string }> {
  const { binary: name } = TEST_SERVERS[server];
  // PostgreSQL needs initdb and the server from one installation.
  const binary = server === "postgres" ? postgresNextTo(findBinary("initdb", dirs)) : findBinary(name, dirs);
  if (binary === undefined) return { failure: `no ${name} binary was found` };
  const dir = mkdtempSync(path.join(tmpdir(), `${DIR_PREFIX}${server}-`));
  writeFileSync(path.join(dir, OWNER_FILE), String(process.pid));
  const port = await freePort();
  let started: ServerProcess | undefined;
  const stop = async () => {
    const child = started?.child;
    if (child !== undefined && child.exitCode === null && child.signalCode === null) {
      const exited = new Promise((resolve) => child.once("exit", resolve));
      // PostgreSQL: SIGQUIT is its immediate shutdown; the others stop at once on SIGTERM.
      child.kill(server === "postgres" ? "SIGQUIT" : "SIGTERM");
      const timer = setTimeout(() => child.kill("SIGKILL"), 10_000);
      await exited;
      clearTimeout(timer);
    }
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    let url: string;
    if (server === "postgres") {
      started = await startPostgres(binary, dir, port);
      url = `postgres://postgres@127.0.0.1:${port}/test`;
    } else if (server === "redis") {
      started = spawnServer(binary, ["--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", dir]);
      url = `redis://127.0.0.1:${port}/0`;
    } else {
      // memcached refuses to run as root unless told which user to be.
      const user = process.getuid?.() === 0 ? ["-u", "root"] : [];
      started = spawnServer(binary, ["-l", "127.0.0.1", "-p", String(port), "-m", "256", ...user]);
      url = `memcached://127.0.0.1:${port}`;
    }
    // The test database does not exist yet: wait on the one initdb creates.
    await answers(server, server === "postgres" ? maintenanceUrl(url) : url, started);
    if (server === "postgres") await createDatabase(url);
    return { url, binary, stop };
  } catch (error) {
    await stop();
    return { failure: `starting ${binary} failed (${(error as Error).message})` };
  }
}

/** The `postgres` binary next to `initdb` (a link in PATH is followed to its installation), if both are there. */
function postgresNextTo(initdb: string | undefined): string | undefined {
  if (initdb === undefined) return undefined;
  return findBinary("postgres", [path.dirname(realpathSync(initdb))]);
}

interface ServerProcess {
  readonly child: ChildProcess;
  /** The last line the server printed, for the error when it will not start. */
  lastLine(): string;
}

/** Spawn a server in the foreground, so it stays a child of this run. */
function spawnServer(binary: string, args: readonly string[], user?: { uid: number; gid: number }): ServerProcess {
  const child = spawn(binary, args, { stdio: ["ignore", "pipe", "pipe"], ...user });
  let output = "";
  const keep = (chunk: Buffer) => (output = (output + chunk.toString("utf8")).slice(-2_000));
  child.stdout?.on("data", keep);
  child.stderr?.on("data", keep);
  child.on("error", (error) => (output += `\n${error.message}`));
  return { child, lastLine: () => output.trim().split("\n").at(-1) || "no output" };
}

/** Wait until the started server answers, or fail with the last line it printed if it exits first. */
async function answers(server: ServerName, url: string, started: ServerProcess): Promise<void> {
  const { child } = started;
  const deadline = Date.now() + START_TIMEOUT_MS;
  while (Date.now() < deadline) {
    if (child.exitCode !== null || child.signalCode !== null) throw new Error(`it exited: ${started.lastLine()}`);
    if ((await probe(server, url)) === "ok") {
      return;
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`it did not answer within ${START_TIMEOUT_MS / 1000} s: ${started.lastLine()}`);
}

/**
 * initdb a cluster with trust auth for the `postgres` role and run the server in the foreground on
 * loopback `port`, TCP only (no Unix socket, whose path would be too long in some temporary
 * directories, e.g. macOS's). PostgreSQL refuses to run as root: as root, both run as the
 * `postgres` system user (the one Debian's package creates), which must then own the directory.
 */
async function startPostgres(postgres: string, dir: string, port: number): Promise<ServerProcess> {
  const user = process.getuid?.() === 0 ? systemUser("postgres") : undefined;
  if (process.getuid?.() === 0 && user === undefined) throw new Error("PostgreSQL does not run as root and there is no postgres user to run it as");
  if (user !== undefined) chownSync(dir, user.uid, user.gid);
  const data = path.join(dir, "data");
  const initdb = path.join(path.dirname(postgres), "initdb");
  try {
    await promisify(execFile)(initdb, ["-D", data, "-U", "postgres", "--auth=trust", "--no-sync", "-E", "UTF8", "--locale=C"], { ...user });
  } catch (error) {
    const { stderr, message } = error as { stderr?: string; message: string };
    throw new Error(`initdb: ${(stderr ?? message).trim().split("\n").at(-1)}`);
  }
  // Durability does not matter for a server that lives for one test run.
  const settings = ["fsync=off", "full_page_writes=off", "max_connections=200"].flatMap((setting) => ["-c", setting]);
  return spawnServer(postgres, ["-D", data, "-p", String(port), "-h", "127.0.0.1", "-k", "", ...settings], user);
}

/** uid and gid of a user from /etc/passwd. */
function systemUser(name: string): { uid: number; gid: number } | undefined {
  try {
    const line = readFileSync("/etc/passwd", "utf8")
      .split("\n")
      .find((entry) => entry.startsWith(`${name}:`));
    if (line === undefined) return undefined;
    const [, , uid, gid] = line.split(":");
    return { uid: Number(uid), gid: Number(gid) };
  } catch {
    return undefined;
  }
}

/** The URL of the `postgres` database of the server of `url`, there from initdb on. */
function maintenanceUrl(url: string): string {
  const maintenance = new URL(url);
  maintenance.pathname = "/postgres";
  return maintenance.toString();
}

/** Create the database `url` names, connected to the server's `postgres` database. */
async function createDatabase(url: string): Promise<void> {
  const client = new pg.Client({ connectionString: maintenanceUrl(url), connectionTimeoutMillis: PROBE_TIMEOUT_MS });
  client.on("error", () => {});
  await client.connect();
  try {
    const name = decodeURIComponent(new URL(url).pathname.slice(1));
    await client.query(`CREATE DATABASE "${name.replace(/"/g, '""')}"`);
  } finally {
    await client.end();
  }
}

/** A loopback port nothing listens on (the kernel's pick, released for the server to take). */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}
