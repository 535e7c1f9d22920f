/**
 * The protocol suite with stream, retry and cache on Redis: primary and secondary are two key
 * prefixes on the same server; the journal under the primary's prefix (so every status, history,
 * attempt and pause the suite checks goes through the Redis journal, bound by the settings like a
 * user binds it); checkpoints and metrics on a SQLite file.
 *
 * It runs three times: on the fused transition path (the default: stream, retry and cache primaries and
 * the journal are one Redis backend, so each transition is one begin and one commit script), where
 * a fused call that fails (and so falls back to the separate ports unseen) fails the test; and with
 * `fused_transitions: false`, over the separate ports alone; and fused with each commit claiming the
 * instance's next message for the processor (`claimNext`, as a worker runs). The paths stay pinned
 * to one trace.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, afterEach, describe, expect, it } from "vitest";
import type { RoleBindings } from "../../src/engine/roles.js";
import type { Logger } from "../../src/logger.js";
import type { SettingsConfig } from "../../src/settings/settings.js";
import { type ProtocolBackend, ProtocolHarness } from "../support/protocol-harness.js";
import { deleteRedisKeys, nameFor, needs, REDIS_URL, uniqueName } from "../support/servers.js";
import { describeProtocol } from "./protocol.contract.js";

const run = uniqueName("proto_redis");
afterAll(() => deleteRedisKeys(run));

function settings(dir: string, fused: boolean): SettingsConfig {
  const a = `${REDIS_URL}?prefix=${nameFor(run, dir, "a")}`;
  const b = `${REDIS_URL}?prefix=${nameFor(run, dir, "b")}`;
  return {
    stream: { primary: a, secondary: b },
    retry: { primary: a, secondary: b },
    cache: { primary: a, secondary: b },
    checkpoint: `sqlite:${dir}/state.db`,
    metrics: `sqlite:${dir}/state.db`,
    journal: a,
    fused_transitions: fused,
  };
}

/** Warnings of fused calls that failed: the engine then goes on over the separate ports, which would hide a broken script. */
const fusedFailures: string[] = [];
const watching: Logger = {
  debug() {},
  info() {},
  warn(message: string) {
    if (message.startsWith("fused ")) fusedFailures.push(message);
  },
  error() {},
};

/** Open the settings of `backend` in a scratch directory and check what they bind. */
async function bound(backend: ProtocolBackend, check: (roles: RoleBindings) => void): Promise<void> {
  const dir = mkdtempSync(path.join(tmpdir(), "switchyard-protocol-"));
  const h = await ProtocolHarness.open(backend, dir);
  try {
    check(h.sy.engine.roles);
  } finally {
    await h.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

const fused: ProtocolBackend = { name: "redis, fused (a distinct prefix per side)", settings: (dir) => settings(dir, true), logger: watching };
const claiming: ProtocolBackend = { ...fused, name: "redis, fused, next messages claimed by the commit", claimNext: true };
const separate: ProtocolBackend = { name: "redis, separate ports (a distinct prefix per side)", settings: (dir) => settings(dir, false) };

describe("on Redis, fused", needs("redis"), () => {
  afterEach(() => {
    expect(fusedFailures.splice(0)).toEqual([]);
  });

  it("binds the fused path, with the journal and without the checkpoint (on SQLite)", async () => {
    await bound(fused, (roles) => expect(roles.fused).toMatchObject({ checkpoint: false, journal: true }));
  });

  describeProtocol(fused);
});

describe("on Redis, fused, next messages claimed by the commit", needs("redis"), () => {
  afterEach(() => {
    expect(fusedFailures.splice(0)).toEqual([]);
  });

  describeProtocol(claiming);
});

describe("on Redis, separate ports", needs("redis"), () => {
  it("binds no fused path with fused_transitions: false", async () => {
    await bound(separate, (roles) => expect(roles.fused).toBeUndefined());
  });

  describeProtocol(separate);
});
