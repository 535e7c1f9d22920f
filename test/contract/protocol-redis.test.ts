/**
 * The protocol suite with stream, retry and cache on Redis: primary and secondary are two key
 * prefixes on the same server; checkpoints, metrics and the journal on a SQLite file.
 */
import { afterAll } from "vitest";
import { deleteRedisKeys, nameFor, REDIS_URL, uniqueName } from "../support/servers.js";
import { describeProtocol } from "./protocol.contract.js";

const run = uniqueName("proto_redis");
afterAll(() => deleteRedisKeys(run));

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
      journal: `sqlite:${dir}/state.db`,
    };
  },
});
