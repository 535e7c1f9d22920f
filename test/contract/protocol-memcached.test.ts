/**
 * The protocol suite with the cache role on Memcached: primary and secondary are two key prefixes
 * on the same server; stream, retry, checkpoints, metrics and the journal on SQLite files.
 */
import { afterAll, describe } from "vitest";
import { deleteMemcachedKeys } from "../support/memcached-keys.js";
import { MEMCACHED_URL, nameFor, needs, uniqueName } from "../support/servers.js";
import { describeProtocol } from "./protocol.contract.js";

const run = uniqueName("proto_memcached");
afterAll(() => deleteMemcachedKeys(run));

describe("on Memcached", needs("memcached"), () => {
  describeProtocol({
    name: "memcached cache (a distinct prefix per side) with sqlite queues",
    settings: (dir) => ({
      stream: { primary: `sqlite:${dir}/a.db`, secondary: `sqlite:${dir}/b.db` },
      retry: { primary: `sqlite:${dir}/a.db`, secondary: `sqlite:${dir}/b.db` },
      cache: {
        primary: `${MEMCACHED_URL}?prefix=${nameFor(run, dir, "a")}`,
        secondary: `${MEMCACHED_URL}?prefix=${nameFor(run, dir, "b")}`,
      },
      checkpoint: `sqlite:${dir}/a.db`,
      metrics: `sqlite:${dir}/a.db`,
      journal: `sqlite:${dir}/a.db`,
    }),
  });
});
