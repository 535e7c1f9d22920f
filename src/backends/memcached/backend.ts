/**
 * The Memcached backend (`memcached://host:port?prefix=NAME`): the cache role only (leases with
 * fence tokens and dispatched flags) on one Memcached server or ElastiCache for Memcached node,
 * through a small built-in text-protocol client.
 */
import type { Backend, BackendContext } from "../backend.js";
import { MemcachedCache } from "./cache.js";
import { MemcachedClient } from "./client.js";
import { type MemcachedLocation, parseMemcachedUri } from "./uri.js";

/** The cache role on one Memcached server. */
export class MemcachedBackend implements Backend {
  readonly uri: string;
  readonly client: MemcachedClient;
  readonly #context: BackendContext;
  readonly #location: MemcachedLocation;

  constructor(uri: string, location: MemcachedLocation, context: BackendContext) {
    this.uri = uri;
    this.#location = location;
    this.#context = context;
    this.client = new MemcachedClient(location);
  }

  cache(): MemcachedCache {
    return new MemcachedCache(this.uri, this.client, this.#context.clock, this.#location.prefix);
  }

  /**
   * Keys are created on first use, so there is nothing to create; but `resources create` must not
   * say so of a server it cannot reach: this asks the server for a key and fails with its error.
   */
  async provision(): Promise<string[]> {
    await this.client.get(`${this.#location.prefix}:provision-check`);
    return ["nothing to create (the server answers)"];
  }

  /** Close the connection. */
  close(): Promise<void> {
    return this.client.close();
  }
}

/**
 * Open the Memcached backend a `memcached://` URI names. It connects on first use, so a server
 * that is down does not fail the open: its calls fail fast (the engine fails over) until it answers.
 *
 * @example
 * ```ts
 * const memcached = await openMemcachedBackend("memcached://127.0.0.1:11211?prefix=orders", context);
 * await memcached.cache().acquireLease("order-1", 1, 0, 300);
 * await memcached.close();
 * ```
 */
export async function openMemcachedBackend(uri: string, context: BackendContext): Promise<MemcachedBackend> {
  return new MemcachedBackend(uri, parseMemcachedUri(uri), context);
}
