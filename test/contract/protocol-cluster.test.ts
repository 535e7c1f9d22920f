/**
 * The protocol suite on a mixed self-hosted cluster: PostgreSQL primary with a Redis secondary
 * stream (the failover scenarios move messages from one to the other), PostgreSQL retries, Redis
 * leases with a Memcached secondary, checkpoints, metrics and the journal on PostgreSQL.
 */
import { afterAll, describe } from "vitest";
import { deleteMemcachedKeys } from "../support/memcached-keys.js";
import { deleteRedisKeys, dropSchemas, MEMCACHED_URL, nameFor, needs, POSTGRES_URL, REDIS_URL, uniqueName } from "../support/servers.js";
import { describeProtocol } from "./protocol.contract.js";

const run = uniqueName("proto_cluster");
afterAll(async () => {
  await dropSchemas(run);
  await deleteRedisKeys(run);
  await deleteMemcachedKeys(run);
});

describe("on PostgreSQL, Redis and Memcached", needs("postgres", "redis", "memcached"), () => {
  describeProtocol({
    name: "postgres + redis + memcached",
    settings: (dir) => {
      const pgA = `${POSTGRES_URL}?schema=${nameFor(run, dir, "a")}`;
      const pgB = `${POSTGRES_URL}?schema=${nameFor(run, dir, "b")}`;
      return {
        stream: { primary: pgA, secondary: `${REDIS_URL}?prefix=${nameFor(run, dir, "s")}` },
        retry: { primary: pgA, secondary: pgB },
        cache: { primary: `${REDIS_URL}?prefix=${nameFor(run, dir, "c")}`, secondary: `${MEMCACHED_URL}?prefix=${nameFor(run, dir, "m")}` },
        checkpoint: pgA,
        metrics: pgA,
        journal: pgA,
      };
    },
  });
});
