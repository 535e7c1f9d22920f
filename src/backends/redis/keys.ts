/**
 * The key layout of the Redis backend under its prefix. Every key a script touches shares one hash
 * tag (the part in braces), so each script works on Redis Cluster too:
 *
 * - cache, per instance: `PREFIX:{CID}:lease`, `PREFIX:{CID}:fence`, `PREFIX:{CID}:dispatched`;
 * - stream: `{PREFIX:stream}:log`, `:claims`, `:tokens`, `:counts`, `:delayed`, `:delayed-bodies`,
 *   `:delayed-ids`, `:instances`, `:dead`, `:dead-seq`;
 * - retry: `{PREFIX:retry}:due`, `:bodies`, `:tokens`, `:counts`, `:instances`, `:dead`, `:dead-seq`.
 */

/** The three keys of one instance in the cache. */
export function cacheKeys(prefix: string, correlationId: string) {
  const base = `${prefix}:{${correlationId}}`;
  return { lease: `${base}:lease`, fence: `${base}:fence`, dispatched: `${base}:dispatched` } as const;
}

/** The stream's keys, in the order the stream scripts take them. */
export function streamKeys(prefix: string): readonly string[] {
  const tag = `{${prefix}:stream}`;
  return ["log", "claims", "tokens", "counts", "delayed", "delayed-bodies", "delayed-ids", "instances", "dead", "dead-seq"].map(
    (name) => `${tag}:${name}`,
  );
}

/** The retry store's keys, in the order the retry scripts take them. */
export function retryKeys(prefix: string): readonly string[] {
  const tag = `{${prefix}:retry}`;
  return ["due", "bodies", "tokens", "counts", "instances", "dead", "dead-seq"].map((name) => `${tag}:${name}`);
}

/** Key of the dead-letter list within a stream or retry key list. */
export const DEAD_LETTERS = { stream: 8, retry: 5 } as const;
