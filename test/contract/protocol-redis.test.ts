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
import { afterAll, describe, expect, it } from "vitest";
import type { SettingsConfig } from "../../src/settings/settings.js";
import type { ProtocolBackend } from "../support/protocol-harness.js";
import { deleteRedisKeys, nameFor, needs, REDIS_URL, uniqueName } from "../support/servers.js";
import { checkBindings, describeFusedProtocol } from "./protocol-fused.js";
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

const fused: ProtocolBackend = { name: "redis, fused (a distinct prefix per side)", settings: (dir) => settings(dir, true) };
const claiming: ProtocolBackend = { ...fused, name: "redis, fused, next messages claimed by the commit", claimNext: true };
const separate: ProtocolBackend = { name: "redis, separate ports (a distinct prefix per side)", settings: (dir) => settings(dir, false) };

describe("on Redis, fused", needs("redis"), () => {
  describeFusedProtocol(fused, { checkpoint: false, journal: true });
});

describe("on Redis, fused, next messages claimed by the commit", needs("redis"), () => {
  describeFusedProtocol(claiming, { checkpoint: false, journal: true });
});

describe("on Redis, separate ports", needs("redis"), () => {
  it("binds no fused path with fused_transitions: false", async () => {
    await checkBindings(separate, (roles) => expect(roles.fused).toBeUndefined());
  });

  describeProtocol(separate);
});
