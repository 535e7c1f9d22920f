/**
 * The protocol suite with stream, retry and cache on Redis: primary and secondary are two key
 * prefixes on the same server; the journal under the primary's prefix (so every status, history,
 * attempt and pause the suite checks goes through the Redis journal, bound by the settings like a
 * user binds it); checkpoints and metrics on a SQLite file.
 */
import { afterAll, describe } from "vitest";
import { deleteRedisKeys, nameFor, needs, REDIS_URL, uniqueName } from "../support/servers.js";
import { describeProtocol } from "./protocol.contract.js";

const run = uniqueName("proto_redis");
afterAll(() => deleteRedisKeys(run));

describe("on Redis", needs("redis"), () => {
  describeProtocol({
    name: "redis (a distinct prefix per side)",
    settings: (dir) => {
      const a = `${REDIS_URL}?prefix=${nameFor(run, dir, "a")}`;
      const b = `${REDIS_URL}?prefix=${nameFor(run, dir, "b")}`;
      return {
        stream: { primary: a, secondary: b },
        retry: { primary: a, secondary: b },
        cache: { primary: a, secondary: b },
        checkpoint: `sqlite:${dir}/state.db`,
        metrics: `sqlite:${dir}/state.db`,
        journal: a,
      };
    },
  });
});
