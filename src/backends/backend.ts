/**
 * What every backend module offers the settings loader: an opened store and the roles it can
 * serve. A backend implements only the roles it supports (SQS has no cache, Memcached no stream).
 */
import type { Logger } from "../logger.js";
import type {
  ApiCallObserver,
  CachePort,
  CheckpointPort,
  Clock,
  Closable,
  ConsumerStatePort,
  DeadLetterStore,
  EnvironmentPort,
  JournalPort,
  MessageSource,
  MetricsPort,
  RetryPort,
  Side,
  StreamPort,
  TransitionPort,
} from "../ports.js";

/** One opened store and the roles it can serve; a backend implements only what it supports. */
export interface Backend extends Closable {
  readonly uri: string;
  stream?(side: Side): StreamPort & MessageSource;
  retry?(side: Side): RetryPort & MessageSource;
  cache?(): CachePort;
  checkpoint?(): CheckpointPort;
  metrics?(): MetricsPort;
  environment?(): EnvironmentPort;
  journal?(): JournalPort;
  /**
   * The fused transition path over this backend's stream, retry store, cache, checkpoint and
   * journal; the settings bind it where those roles' primaries are all this backend. Undefined
   * where this backend cannot offer it after all (Redis in cluster mode).
   */
  transitions?(): TransitionPort | undefined;
  /**
   * The fused transition path of this backend's cache around the other roles' ports, for a cache
   * whose store is not the stream's (DynamoDB under SQS, Kinesis or SNS); the settings bind it
   * where {@link transitions} does not apply and this backend is the cache's primary.
   */
  transitionsOver?(ports: FusedPorts): TransitionPort | undefined;
  /**
   * Shard leases, positions and dead letters for the consumers of a transport that keeps none
   * itself (Kinesis); the settings hand the checkpoint role's to such a backend
   * ({@link BackendContext.consumerState}).
   */
  consumerState?(): ConsumerStatePort;
  /** Dead letters of its stream and retry store, if it keeps them. */
  readonly deadLetters?: DeadLetterStore | undefined;
  /**
   * Create what this backend needs and does not have yet (queues, streams, topics, tables with
   * their indexes and TTL, schemas), idempotently; `switchyard resources create` calls it. Returns
   * one line per resource saying what was done, e.g. `created table switchyard-cache` or
   * `exists queue https://…/retry`. Backends that create their storage on open leave it out.
   */
  provision?(): Promise<string[]>;
}

/** The ports of the other roles a cache's fused path writes through ({@link Backend.transitionsOver}). */
export interface FusedPorts {
  /** The stream's primary side: where a next message goes. */
  readonly stream: StreamPort;
  /** The retry role's primary side: a state's timer, and the retry entry a transition removes. */
  readonly retry: RetryPort;
  /** The checkpoint role's primary side, when the commit stores the checkpoint. */
  readonly checkpoint?: CheckpointPort | undefined;
  /** The journal, when begin reads the controls and commit writes the instance and its history. */
  readonly journal?: JournalPort | undefined;
}

/** What opening a backend gets to know. */
export interface BackendContext {
  readonly clock: Clock;
  /** Relative paths in URIs resolve against this directory. */
  readonly baseDir: string;
  readonly endpoints: Readonly<Record<string, string>>;
  readonly logger: Logger;
  /**
   * The consumer state of the checkpoint role's primary backend, for a transport whose consumers
   * keep their positions and dead letters elsewhere (Kinesis); opened on first call. Resolves to
   * undefined when the settings have no checkpoint role; absent where nothing consumes (e.g.
   * `resources create`).
   */
  readonly consumerState?: (() => Promise<ConsumerStatePort | undefined>) | undefined;
  /** Sees every AWS API call (`switchyard cost`); the AWS backends attach no middleware without it. */
  readonly apiCalls?: ApiCallObserver | undefined;
}
