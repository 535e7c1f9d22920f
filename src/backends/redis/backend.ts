/**
 * The Redis backend (`redis://host:port/db?prefix=NAME`, `rediss://` for TLS): the stream, retry
 * and cache roles and the instance journal on one Redis server (or ElastiCache for Redis), all keys
 * under one prefix.
 */
import type { Side } from "../../ports.js";
import type { Backend, BackendContext } from "../backend.js";
import { RedisCache } from "./cache.js";
import { RedisConnection } from "./connection.js";
import { RedisDeadLetters } from "./dead-letters.js";
import { RedisJournal } from "./journal.js";
import { RedisRetryStore } from "./retry-store.js";
import { RedisStream } from "./stream.js";
import { RedisTransitions } from "./transitions.js";
import { parseRedisUri, redact } from "./uri.js";

/** The roles (and the journal) one Redis prefix serves. Ports of one backend share one connection. */
export class RedisBackend implements Backend {
  readonly uri: string;
  readonly deadLetters: RedisDeadLetters;
  readonly connection: RedisConnection;
  readonly #context: BackendContext;
  readonly #streams: RedisStream[] = [];

  /** Whether the server runs in cluster mode, as it said when the backend opened; undefined if it could not be asked. */
  readonly clusterMode: boolean | undefined;

  constructor(uri: string, connection: RedisConnection, context: BackendContext, clusterMode?: boolean) {
    this.uri = uri;
    this.connection = connection;
    this.#context = context;
    this.clusterMode = clusterMode;
    this.deadLetters = new RedisDeadLetters(connection);
  }

  stream(side: Side = "primary"): RedisStream {
    const stream = new RedisStream({ uri: this.uri, connection: this.connection, clock: this.#context.clock, side });
    this.#streams.push(stream);
    return stream;
  }

  retry(side: Side = "primary"): RedisRetryStore {
    return new RedisRetryStore({ uri: this.uri, connection: this.connection, clock: this.#context.clock, side });
  }

  cache(): RedisCache {
    return new RedisCache(this.uri, this.connection, this.#context.clock);
  }

  /** The instance journal, keeping finished instances `journal_ttl_days` (from the URI) or for ever. */
  journal(): RedisJournal {
    return new RedisJournal({
      uri: this.uri,
      connection: this.connection,
      clock: this.#context.clock,
      ttlDays: this.connection.location.journalTtlDays,
    });
  }

  /**
   * The fused transition path (see RedisTransitions): one script for `begin` and one for `commit`.
   * Its scripts touch the keys of several hash slots, which Redis Cluster refuses (CROSSSLOT), so a
   * server in cluster mode does not get it and the engine uses the separate ports, whose scripts
   * each stay in one slot. A server that could not be asked when the backend opened is taken to be
   * a single server; if it is not, each fused call fails and the engine goes on over the separate
   * ports.
   */
  transitions(): RedisTransitions | undefined {
    if (this.clusterMode === true) return undefined;
    return new RedisTransitions(this.uri, this.connection, this.#context.clock);
  }

  /**
   * Keys are created on first use, so there is nothing to create; but `resources create` must not
   * say so of a server it cannot reach: this asks the server (PING) and fails with its error.
   */
  async provision(): Promise<string[]> {
    await this.connection.run("PING", (redis) => redis.ping());
    return ["nothing to create (the server answers)"];
  }

  /** Leave the stream's consumer group (best effort) and disconnect from the server. */
  async close(): Promise<void> {
    await Promise.allSettled(this.#streams.splice(0).map((stream) => stream.leaveGroup()));
    await this.connection.close();
  }
}

/**
 * Open the Redis backend a `redis://` or `rediss://` URI names. Keys are created on first use, so
 * there is nothing to provision. A server that is down does not fail the open: the ports' calls
 * fail fast (so the engine fails over) until it answers.
 *
 * @example
 * ```ts
 * const redis = await openRedisBackend("redis://127.0.0.1:6379/0?prefix=orders", context);
 * await redis.cache().acquireLease("order-1", 1, 0, 300);
 * await redis.close();
 * ```
 */
export async function openRedisBackend(uri: string, context: BackendContext): Promise<RedisBackend> {
  const location = parseRedisUri(uri);
  const connection = new RedisConnection(location, context.logger);
  await connection.connect();
  return new RedisBackend(redact(uri), connection, context, await connection.clusterMode());
}
