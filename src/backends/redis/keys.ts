/**
 * The key layout of the Redis backend under its prefix. Every key a script touches shares one hash
 * tag (the part in braces), so each script works on Redis Cluster too (but the fused transition
 * path's two scripts, `transition-scripts.ts`, which span the tags below and need a single server):
 *
 * - cache, per instance: `PREFIX:{CID}:lease`, `PREFIX:{CID}:fence`, `PREFIX:{CID}:dispatched`;
 * - stream: `{PREFIX:stream}:log`, `:claims`, `:tokens`, `:counts`, `:delayed`, `:delayed-bodies`,
 *   `:delayed-ids`, `:instances`, `:dead`, `:dead-seq`;
 * - retry: `{PREFIX:retry}:due`, `:bodies`, `:tokens`, `:counts`, `:instances`, `:dead`, `:dead-seq`;
 * - journal, all under `{PREFIX:journal}` (its scripts change an instance and the indexes that span
 *   instances together): per instance `:instance:CID` (hash), `:history:CID`, `:attempts:CID`,
 *   `:errors:CID` (lists), `:parked:CID` (hash); across instances `:list:STATUS[:MACHINE]` (sorted
 *   sets, STATUS a shown status or `all`), `:machine-parked:MACHINE` (sorted set), `:pauses` (set),
 *   `:finished` (sorted set); the definition registry: `:definitions:MACHINE` (hash: version to
 *   record), `:definition-machines` (set), `:migrations` (hash: `["MACHINE","FROM"]` to order).
 *   The journal's scripts derive the index keys of an instance from
 *   `{PREFIX:journal}` (passed as their first key) the way {@link journalListKey} and
 *   {@link journalMachineParkedKey} build them, so they stay in the journal's slot.
 */
import type { InstanceStatus } from "../../ports.js";

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

/** The hash tag every journal key starts with; the journal scripts take it as their first key. */
export function journalBase(prefix: string): string {
  return `{${prefix}:journal}`;
}

/** The keys of one instance in the journal. */
export function journalKeys(prefix: string, correlationId: string) {
  const base = journalBase(prefix);
  return {
    instance: `${base}:instance:${correlationId}`,
    history: `${base}:history:${correlationId}`,
    attempts: `${base}:attempts:${correlationId}`,
    errors: `${base}:errors:${correlationId}`,
    parked: `${base}:parked:${correlationId}`,
  } as const;
}

/**
 * The sorted set that lists instances (score: minus the start time, so a range reads the most
 * recently started first, ties by id) of one shown status, or of every status (`all`), over every
 * machine or one.
 */
export function journalListKey(prefix: string, status: InstanceStatus | "all", machineName?: string): string {
  const key = `${journalBase(prefix)}:list:${status}`;
  return machineName === undefined ? key : `${key}:${machineName}`;
}

/** The sorted set of a machine's parked messages (member `STEPS:RETRIES:CID`, score: parked at). */
export function journalMachineParkedKey(prefix: string, machineName: string): string {
  return `${journalBase(prefix)}:machine-parked:${machineName}`;
}

/** The journal's keys that span instances: machine pauses, and finished instances for retention. */
export function journalSharedKeys(prefix: string) {
  const base = journalBase(prefix);
  return { pauses: `${base}:pauses`, finished: `${base}:finished` } as const;
}

/**
 * The definition registry's keys: a machine's versions (hash: version to its record, JSON), the set
 * of machines with a version, and the migration orders (hash: `["MACHINE","FROM"]`, FROM `""` for
 * unversioned instances, to the order, JSON).
 */
export function journalRegistryKeys(prefix: string, machineName: string) {
  const base = journalBase(prefix);
  return { definitions: `${base}:definitions:${machineName}`, machines: `${base}:definition-machines`, migrations: `${base}:migrations` } as const;
}
