/**
 * The role ports (SPEC §4): the small interfaces the engine talks to. Backends implement only the
 * ports they can (SQS has no cache; Memcached has no stream). Every method is async, every state
 * change is one atomic operation in the backend, and any error a port throws counts as a system
 * error (the engine fails over to the secondary side).
 *
 * Where backends keep a promise differently, the port's comment says how each one keeps it; the
 * backend's page under docs/backends/ has the detail. A backend that cannot keep a promise says
 * so in a capability (e.g. {@link MessageSource.filtersByCorrelationId}) or refuses the call,
 * rather than ignore the argument it cannot honour.
 *
 * Deliberately left out: transactions. A backend that can make many port calls share one commit
 * (SQLite) does so behind these interfaces (see `backends/sqlite/database.ts`), so the engine never
 * has to know.
 */
import type { MachineDocument } from "./core/machine.js";

/** The six roles of SPEC §4. */
export const ROLES = ["stream", "retry", "cache", "checkpoint", "metrics", "environment"] as const;
export type RoleName = (typeof ROLES)[number];

/** Each role has a primary and optionally a secondary (failover) backend. */
export const SIDES = ["primary", "secondary"] as const;
export type Side = (typeof SIDES)[number];

/** A role's pair of backends. */
export interface Sided<T> {
  readonly primary: T;
  readonly secondary?: T | undefined;
}

/** Time, injected so the engine and the backends can be driven by a test clock. */
export interface Clock {
  /** Milliseconds since the epoch. */
  now(): number;
  /**
   * Resolve once `ms` milliseconds have passed on this clock. The engine waits only through this
   * (for a lease hand-over), so under a test clock its waits take no real time.
   */
  sleep(ms: number): Promise<void>;
}

/** The clock of the machine. */
export const systemClock: Clock = {
  now: () => Date.now(),
  sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
};

/**
 * What a transport answered for a send (e.g. Kinesis `{ShardId, SequenceNumber}`, SQS
 * `{MessageId}`, SQLite `{table, id}`). JSON-serializable; stored as the instance's checkpoint.
 */
export type Receipt = Record<string, unknown>;

/** One message to send, with the fields transports index or partition on. */
export interface OutgoingMessage {
  readonly correlationId: string;
  readonly steps: number;
  readonly retries: number;
  /** The serialized wire message. */
  readonly body: string;
  /** Seconds before the message may be delivered (0 = now). */
  readonly delaySeconds: number;
  /**
   * Resolve only once the message would survive a crash of this process: `start` tells its caller
   * the instance exists. Transports that store a message before they answer ignore it; SQLite's
   * group commit waits for the commit.
   */
  readonly durable?: boolean | undefined;
}

/** Per-item outcome of a batch send: batches fail item by item, never as a whole. */
export type BatchItemResult =
  | { readonly ok: true; readonly receipt: Receipt }
  | { readonly ok: false; readonly error: Error };

/**
 * The producer side of the `stream` role: where next-event messages go. Every backend delivers a
 * message no earlier than `delaySeconds` after the send, by its clock:
 *
 * | backend | how a delay is kept |
 * | --- | --- |
 * | sqlite, postgres | the row's due time |
 * | redis | a delayed set, moved into the stream when due |
 * | dynamodb | the item's due time (`visible_at`) |
 * | sqs | a due-time attribute; native `DelaySeconds` (at most 900 s) under the system clock, a longer or early message handed back until due |
 * | sns | a due-time attribute the consumer queue honours (SNS has no delays) |
 * | kinesis | the due time in the record data's `switchyard` key; a record not yet due holds its shard |
 */
export interface StreamPort {
  /** The backend's URI or ARN, for messages and diagnostics. */
  readonly uri: string;
  send(message: OutgoingMessage): Promise<Receipt>;
  /** Send many; the result has one entry per input, in order. */
  sendBatch(messages: readonly OutgoingMessage[]): Promise<BatchItemResult[]>;
}

/**
 * The producer side of the `retry` role: messages to run again after a backoff, keyed by
 * `(correlationId, steps)`: scheduling a step again replaces its entry, and `remove` stops it.
 *
 * | backend | replace and remove |
 * | --- | --- |
 * | sqlite, postgres, redis, dynamodb | in the store, at once, whichever process made the entry |
 * | sqs, sns, kinesis | on receipt: a transport cannot delete by key, so each entry carries a schedule mark and the process that replaced or removed it drops it when received; an entry replaced by another process is still delivered (the dispatched flag then drops it as a duplicate) |
 */
export interface RetryPort {
  readonly uri: string;
  schedule(message: OutgoingMessage): Promise<Receipt>;
  /** Stop retries of a step (its message succeeded, or failed for good). Absent entries are fine. */
  remove(correlationId: string, steps: number): Promise<void>;
}

/** Outcome of a lease acquisition. */
export type LeaseResult =
  | { readonly acquired: true; readonly fenceToken: number }
  /** Held by someone else, until `heldUntil` (ms since the epoch) where the backend can tell. */
  | { readonly acquired: false; readonly heldUntil?: number | undefined };

/**
 * The `cache` role: leases with fence tokens, and dispatched flags. Every backend takes a lease
 * and bumps its fence in one atomic operation (a transaction in sqlite and postgres, a Lua script
 * in redis, a conditional write in dynamodb, gets/cas in memcached) and reports until when a
 * refused lease is held. What survives a restart of the store:
 *
 * | backend | leases, fences and flags |
 * | --- | --- |
 * | sqlite, postgres, dynamodb | durable |
 * | redis | as durable as the server's persistence; `maxmemory-policy` must be `noeviction` |
 * | memcached | lost on restart or eviction: an evicted lease is free (its fence still rises while the lease or the counter key survives), an evicted flag lets a duplicate run again |
 */
export interface CachePort {
  readonly uri: string;
  /**
   * Take the instance's lease for `(steps, retries)` if it is free: absent, released, or expired.
   * Taking it returns a fence token one above the larger of this cache's counter for the instance
   * and `minFenceToken` (the highest token the instance's message carries; default 0), and stores
   * it as the new counter: the first token is 1, and tokens keep growing when the lease moves
   * between a primary and a secondary cache that count separately.
   */
  acquireLease(
    correlationId: string,
    steps: number,
    retries: number,
    timeoutSeconds: number,
    minFenceToken?: number,
  ): Promise<LeaseResult>;
  /**
   * Make the instance's fence counter at least `fenceToken`, so the next token this cache hands out
   * is above it; never lowers it and leaves the lease alone. The engine calls it on the other cache
   * after a token was taken by a redelivered message or after a failover, so the two caches' counters
   * do not drift apart where a stale copy of a message could land on the lower one.
   */
  raiseFence(correlationId: string, fenceToken: number): Promise<void>;
  /** Release the lease only if it is still held for `(steps, retries, fenceToken)`; true if released. */
  releaseLease(correlationId: string, steps: number, retries: number, fenceToken: number): Promise<boolean>;
  /**
   * Whether step `steps` of the instance was already dispatched. Steps of an instance are
   * dispatched in order, so a backend may answer from the highest marked step (a step at or below
   * it is done) rather than keep one flag per step.
   */
  isDispatched(correlationId: string, steps: number): Promise<boolean>;
  /** Mark step `steps` (and so every earlier step) dispatched for `ttlSeconds`; marking again renews it. */
  markDispatched(correlationId: string, steps: number, ttlSeconds: number): Promise<void>;
}

/**
 * The fused transition path: an optional capability of a backend that serves, for one processing,
 * the source it came from, the lease cache, the next message's role (primary side), the checkpoint
 * and the journal. It does the protocol's writes in two calls instead of one per role:
 *
 * - {@link begin}: SPEC §3 steps 1–2 and the operator's controls (§9): the lease with its fence
 *   token, this cache's dispatched flag, and the instance's controls;
 * - {@link commit}: steps 4, 5 and 7 and the acknowledgement, atomically: the next message (or the
 *   state's timer) with its journal entry, the checkpoint, the dispatched mark, the retry entry's
 *   removal, the journal's instance update, the lease's release and the delivery's ack.
 *
 * What a transition does and records is the same as over the separate ports, which the engine
 * still uses for every other path (retries, duplicates, failover, mixed deployments) and when a
 * fused call fails. The settings bind it only where those roles' primaries share one backend and no
 * chaos is configured on them.
 *
 * A cache whose store has no transport of its own to fuse with (DynamoDB under SQS, Kinesis or SNS)
 * may offer the same two calls over the other roles' ports: `begin` takes the lease and its flag in
 * one write; `commit` checks the gate, sends, writes the rest, then marks and releases in one write.
 * It is not atomic: it throws only before it sent, reports later failures in `failures`, and
 * leaves the ack to the caller (`unacknowledged`).
 */
export interface TransitionPort {
  readonly uri: string;
  begin(request: TransitionBegin): Promise<TransitionBegun>;
  commit(request: TransitionCommit): Promise<TransitionCommitted>;
}

/** What {@link TransitionPort.begin} takes: the lease to take and, with a journal here, whose controls to read. */
export interface TransitionBegin {
  readonly correlationId: string;
  readonly steps: number;
  readonly retries: number;
  readonly leaseTimeoutSeconds: number;
  /** As {@link CachePort.acquireLease}'s `minFenceToken`. */
  readonly minFenceToken: number;
  /** The machine and state whose pause rules apply; absent: do not read the controls. */
  readonly control?: { readonly machineName: string; readonly state: string } | undefined;
}

/** What {@link TransitionPort.begin} found. */
export interface TransitionBegun {
  readonly lease: LeaseResult;
  /** Whether this cache marks step `steps` dispatched (read only when the lease was taken; false otherwise). */
  readonly dispatched: boolean;
  /** The instance's controls, when asked for, the lease was taken and the journal has the instance. */
  readonly control: InstanceControl | undefined;
}

/** The writes of one transition, for {@link TransitionPort.commit}. */
export interface TransitionCommit {
  readonly correlationId: string;
  readonly steps: number;
  readonly retries: number;
  readonly fenceToken: number;
  /** The message being processed, from this backend's stream or retry source: acknowledged. */
  readonly delivery: Delivery;
  /** The next message (`stream`) or the state's timer (`retry`), sent on this backend's side of that role, and its journal entry. */
  readonly send?: { readonly role: "stream" | "retry"; readonly message: OutgoingMessage; readonly journal: JournalMessage } | undefined;
  /** Store the sent message's receipt as the checkpoint of step `steps + 1`. */
  readonly checkpoint: boolean;
  /** Mark step `steps` dispatched for this long. */
  readonly dispatchedTtlSeconds: number;
  /** Remove this backend's retry entry of step `steps` (the delivery's own, or the timer the transition leaves behind). */
  readonly removeRetry: boolean;
  /** The journal's instance update; absent without a journal here. */
  readonly instance?: InstanceUpdate | undefined;
  /** Write nothing when the journal shows an abort that was asked and not yet taken (asked while the actions ran). */
  readonly abortGate: boolean;
  /**
   * Hand the next message straight back to this processor: sent to the stream already claimed
   * (for `visibilityTimeoutSeconds`, as a receive would), with its lease for step `steps + 1` taken
   * in place of the release, and the controls of `control` (the state it runs in) read after the
   * journal update. Only for a `stream` send due at once. A backend that cannot, or a lease that
   * is no longer this processing's, sends the message unclaimed as usual (`next` is then absent).
   */
  readonly claimNext?:
    | {
        readonly visibilityTimeoutSeconds: number;
        readonly leaseTimeoutSeconds: number;
        readonly control?: { readonly machineName: string; readonly state: string } | undefined;
      }
    | undefined;
}

/** What {@link TransitionPort.commit} did. */
export interface TransitionCommitted {
  /** False: the abort gate found an abort asked; nothing was written and the lease is still held. */
  readonly committed: boolean;
  /** Where the sent message went ({@link Receipt}), when one was sent. */
  readonly receipt?: Receipt | undefined;
  /**
   * Whether the lease was still held for this processing and is now released. The dispatched mark
   * is set either way (except in a race with a new holder, which the at-least-once protocol covers).
   */
  readonly released: boolean;
  /** The next message, claimed, with its lease taken (see {@link TransitionCommit.claimNext}). */
  readonly next?: ClaimedNext | undefined;
  /**
   * The delivery was not acknowledged: its source is another backend than the fused writes' (a
   * cache that fuses its own writes around a transport elsewhere), and the caller acks it as over
   * the separate ports. Absent: acknowledged with the other writes.
   */
  readonly unacknowledged?: true | undefined;
  /**
   * Writes of a commit that is not one atomic write (a cache that fuses its own writes around
   * ports elsewhere) that failed after the next message was sent: such a commit does not throw
   * once it has sent, and the caller records and logs these as it does a separate port's failure.
   */
  readonly failures?: readonly CommitFailure[] | undefined;
}

/** A write of a commit that failed after its send (see {@link TransitionCommitted.failures}). */
export interface CommitFailure {
  readonly write: "journal" | "checkpoint" | "retry" | "dispatched";
  readonly error: Error;
}

/** A message a fused commit claimed for the processor, and what its fused begin would have found. */
export interface ClaimedNext {
  readonly delivery: Delivery;
  readonly begun: TransitionBegun;
}

/** The last transport receipt of an instance. */
export interface Checkpoint {
  readonly correlationId: string;
  readonly steps: number;
  readonly receipt: Receipt;
  /** Milliseconds since the epoch. */
  readonly storedAt: number;
}

/**
 * The `checkpoint` role, on sqlite, postgres and dynamodb alike: one durable record per instance,
 * which every `store` overwrites (the latest call wins).
 */
export interface CheckpointPort {
  readonly uri: string;
  store(correlationId: string, steps: number, receipt: Receipt): Promise<void>;
  get(correlationId: string): Promise<Checkpoint | undefined>;
}

/** The error counter names of SPEC §3 step 8. */
export const ERROR_COUNTERS = ["error", "fatal", "cache", "retry", "duplicate", "dispatch"] as const;
export type ErrorCounter = (typeof ERROR_COUNTERS)[number];
export type ErrorCounters = Partial<Record<ErrorCounter, number>>;

/** The three dimensions of every metrics emission. */
export interface MetricDimensions {
  readonly machine_name: string;
  readonly current_state: string;
  readonly current_event: string;
}

/**
 * The `metrics` role: one call per processing with all its counters. sqlite and postgres store
 * every emission and can sum them ({@link MetricsQuery}); cloudwatch (PutMetricData),
 * cloudwatch-emf (a line on stdout) and log (a line on stderr, or in a file) send them on and
 * cannot be queried.
 */
export interface MetricsPort {
  readonly uri: string;
  emit(counters: ErrorCounters, dimensions: MetricDimensions): Promise<void>;
}

/** Counters summed over the emissions of one dimension set. */
export interface MetricsTotal {
  readonly dimensions: MetricDimensions;
  readonly counters: ErrorCounters;
  /** How many emissions were summed. */
  readonly emissions: number;
}

/** Which emissions {@link MetricsQuery.totals} sums. */
export interface MetricsFilter {
  readonly machineName?: string | undefined;
  /** Only emissions at or after this time (ms since the epoch). */
  readonly since?: number | undefined;
}

/** A metrics backend that stores emissions and can sum them (SQLite); CloudWatch and logs cannot. */
export interface MetricsQuery {
  totals(filter?: MetricsFilter): Promise<MetricsTotal[]>;
}

/**
 * The `environment` role: data handed to container steps, addressed by a generated key (a UUID);
 * durable on sqlite, postgres and dynamodb alike.
 */
export interface EnvironmentPort {
  readonly uri: string;
  /**
   * Store `environment` and return its key: a fresh random one, or `key` when given, replacing
   * what is stored there (a task's launch is keyed by its step, so a step run again finds it).
   */
  put(environment: Record<string, string>, key?: string): Promise<string>;
  get(key: string): Promise<Record<string, string> | undefined>;
}

/** One message as delivered by a source to a worker. */
export interface Delivery {
  /** Transport id of the message (unique within its source). */
  readonly id: string;
  readonly body: string;
  /** How many times this message has been handed out, this time included. */
  readonly receiveCount: number;
  /** Which role and side it came from. */
  readonly role: "stream" | "retry";
  readonly side: Side;
  /** Backend-private handle (receipt handle, claim token) that `ack` and `release` need. */
  readonly handle: unknown;
}

/** Options of one receive call. */
export interface ReceiveOptions {
  /** At most this many messages. */
  readonly max: number;
  /** Seconds a received message stays invisible to other consumers before it is delivered again. */
  readonly visibilityTimeoutSeconds: number;
  /**
   * Only messages of this instance. Used by `switchyard run` to drive one instance in a store that
   * others share. Only sources whose {@link MessageSource.filtersByCorrelationId} is true accept
   * it; the others reject the receive rather than hand out other instances' messages.
   */
  readonly correlationId?: string | undefined;
}

/**
 * The consumer side of a stream or retry backend: what a worker polls. Polling is not subject to
 * chaos (SPEC §4). What each backend's source can do beyond receiving in due order:
 *
 * | backend | `receive({correlationId})` | `pending(correlationId)` | `extend` | `onWork` |
 * | --- | --- | --- | --- | --- |
 * | sqlite | filters (indexed) | exact | yes | no |
 * | postgres | filters (indexed) | exact | yes | LISTEN/NOTIFY |
 * | dynamodb | filters (the stream table's correlation index, the retry table's instance partition) | exact | yes | no |
 * | redis | rejects: a consumer group hands out entries in stream order | exact (a per-instance count) | yes | no |
 * | kinesis | rejects: shards are read in order | what this consumer has read ahead: a lower bound | yes, by the clock | no |
 * | sqs, sns | rejects: a queue hands out any visible message | rejects: SQS counts whole queues only | yes | no |
 *
 * `pending()` without an id counts every message the source holds; on Kinesis, what this consumer
 * has read ahead; on SQS and SNS, SQS's approximate counts.
 */
export interface MessageSource {
  readonly uri: string;
  readonly role: "stream" | "retry";
  readonly side: Side;
  /**
   * Whether `receive({correlationId})` claims only that instance's messages (sqlite, postgres,
   * dynamodb). False: the source rejects such a receive, and `switchyard run` (which drives one
   * instance in a store others may share) refuses to start over it instead of processing other
   * instances' work.
   */
  readonly filtersByCorrelationId: boolean;
  /**
   * Whether `pending(correlationId)` is an exact count of the instance's messages here even though
   * the source cannot receive them apart (redis keeps a per-instance count). Sources that filter by
   * instance count exactly anyway; `list --stalled` trusts the count of either kind.
   */
  readonly countsPerInstance?: boolean | undefined;
  /**
   * Claim up to `max` messages that are due now (never blocks long; may return none). With a
   * `correlationId`, only that instance's; a source that cannot filter rejects that.
   */
  receive(options: ReceiveOptions): Promise<Delivery[]>;
  /** The message was handled: delete it (unless it was replaced since it was received). */
  ack(delivery: Delivery): Promise<void>;
  /** Hand a message back so it is delivered again after `delaySeconds` (graceful shutdown). */
  release(delivery: Delivery, delaySeconds: number): Promise<void>;
  /**
   * Keep a message that is still being processed claimed for `visibilityTimeoutSeconds` more from
   * now, so a long step is not delivered to a second consumer meanwhile (a transport without
   * visibility timeouts implements it as a no-op).
   */
  extend(delivery: Delivery, visibilityTimeoutSeconds: number): Promise<void>;
  /** Move a message that cannot be processed to the dead-letter store, with the reason. */
  deadLetter(delivery: Delivery, reason: string): Promise<void>;
  /**
   * How many messages wait here (delayed and claimed ones included), of one instance or all; for
   * `worker --until-idle` and `run`. A source that cannot count one instance's messages (SQS,
   * SNS) rejects a `correlationId` instead of answering for the whole queue. Optional: transports
   * that cannot count at all leave it out.
   */
  pending?(correlationId?: string): Promise<number>;
  /**
   * How long the oldest message that is due here (not delayed, not claimed) has been due, in ms; 0
   * when none is. A worker's queue lag, read when its metrics are scraped, never per message.
   * Optional: sources that cannot tell with one indexed read (sqlite and postgres can) leave it out.
   */
  oldestDueAgeMs?(): Promise<number>;
  /**
   * Subscribe to "new messages may be due" signals (PostgreSQL LISTEN/NOTIFY), so an idle worker
   * polls at once instead of after its pause. Returns the unsubscribe function. Optional: sources
   * without it are polled on the worker's schedule.
   */
  onWork?(listener: () => void): () => void;
}

/** A message moved aside because it could not be processed. */
export interface DeadLetter {
  readonly id: number;
  /** URI of the stream or retry store it came from. */
  readonly sourceUri: string;
  /** Its id in that source. */
  readonly messageId: string;
  readonly body: string;
  readonly reason: string;
  readonly receiveCount: number;
  /** Milliseconds since the epoch. */
  readonly deadAt: number;
}

/**
 * Where a stream or retry backend keeps its dead letters, for people to inspect and to redrive
 * (`switchyard dead-letters redrive`). A letter's `id` is the store's own: two stores may both
 * have a letter 3, so a letter is named across stores by its `id` with its `sourceUri`.
 *
 * | backend | `id` | `get` / `remove` |
 * | --- | --- | --- |
 * | sqlite, postgres | the `dead_letters` row id | one indexed SELECT / DELETE |
 * | redis | the list's sequence number × 2, + 1 for the retry store's | a scan of the list / LREM of the exact entry |
 * | dynamodb | the item's sort key (time of death × 1000 + random) | GetItem / DeleteItem |
 * | kinesis | the checkpoint role's store's id | that store's, limited to this stream's letters |
 * | sqs, sns | 48 bits of the SHA-1 of the dead-letter queue's message id (stable across calls) | best effort: the queue is searched with ReceiveMessage, so a message SQS does not hand out (in flight elsewhere, or not sampled) is not found |
 */
export interface DeadLetterStore {
  /** The latest `limit` dead letters, newest first. */
  list(limit?: number): Promise<DeadLetter[]>;
  /** Dead letter `id` of this store, or undefined when it holds none by that id. */
  get(id: number): Promise<DeadLetter | undefined>;
  /** Delete dead letter `id`; true when it existed (and this call removed it). */
  remove(id: number): Promise<boolean>;
}

/**
 * One lease of a consumer group: a shard a consumer reads (`shard/<id>`), or a consumer's
 * heartbeat (`member/<owner>`), so the consumers of a stream know how many they are.
 */
export interface GroupLease {
  readonly key: string;
  /** Who holds it; `""` when nobody does. */
  readonly owner: string;
  /** Clock time (ms since the epoch) the lease ends unless renewed. */
  readonly expiresAt: number;
  /** The holder's checkpoint (a Kinesis sequence number); `""` when there is none yet. */
  readonly position: string;
  /** Raised by every write; the version a conditional write names (the first write makes 1). */
  readonly version: number;
}

/** What a conditional lease write sets. */
export type GroupLeaseValue = Pick<GroupLease, "owner" | "expiresAt" | "position">;

/**
 * The state the consumers of a transport that keeps none itself (Kinesis: a data stream has no
 * consumer positions, no dead-letter queue) share, kept by the store of the checkpoint role:
 * shard leases with their positions, and dead letters. A port of its own, so the Kinesis backend
 * is handed the store rather than reaching for another backend:
 *
 * | backend | leases | dead letters |
 * | --- | --- | --- |
 * | sqlite, postgres | the `consumer_leases` table, one conditional statement per write | the `dead_letters` table the stream and retry store share |
 * | dynamodb | the `NAME-leases` table (`pk` = group, `sk` = key), conditional writes | the `NAME-dead-letters` table |
 *
 * Every write is conditional on the version the writer last saw, so two consumers never both
 * take a shard, and a consumer that lost its lease cannot move the position any more.
 */
export interface ConsumerStatePort {
  readonly uri: string;
  /** Every lease of `group` (e.g. a stream ARN), read consistently. */
  leases(group: string): Promise<GroupLease[]>;
  /**
   * Write lease `key` of `group` if its version is still `expectedVersion` (0: it must not exist);
   * the lease as written, or undefined when someone else wrote it first.
   */
  swapLease(group: string, key: string, expectedVersion: number, next: GroupLeaseValue): Promise<GroupLease | undefined>;
  /** Store a dead letter. */
  buryDeadLetter(letter: Omit<DeadLetter, "id">): Promise<void>;
  /** The latest `limit` dead letters that came from `sourceUri`, newest first. */
  deadLettersOf(sourceUri: string, limit?: number): Promise<DeadLetter[]>;
  /** Dead letter `id`, if it came from `sourceUri`. */
  getDeadLetter(sourceUri: string, id: number): Promise<DeadLetter | undefined>;
  /** Delete dead letter `id` if it came from `sourceUri`; true when it existed. */
  removeDeadLetter(sourceUri: string, id: number): Promise<boolean>;
}

/**
 * The statuses of an instance (SPEC §9), as the journal reports them:
 *
 * | status | meaning |
 * | --- | --- |
 * | `running` | a message for the instance is pending or in flight |
 * | `waiting` | it rests in a non-final state with no next event: it waits for an external event or a timer |
 * | `paused` | an operator paused it (or a pause of its machine holds a message of it): its messages are parked |
 * | `completed` / `failed` | it reached a final state / exhausted its retries (or a `FatalActionError`) |
 * | `aborted` | an operator aborted it |
 *
 * `paused` is never stored: a journal derives it from the instance's pause flag and its parked
 * messages over a stored `running` or `waiting` ({@link InstanceRecord.pausedStatus}).
 */
export const INSTANCE_STATUSES = ["running", "waiting", "paused", "completed", "failed", "aborted"] as const;
export type InstanceStatus = (typeof INSTANCE_STATUSES)[number];
/** The statuses a journal stores: all but `paused`, which it derives. */
export type StoredStatus = Exclude<InstanceStatus, "paused">;
/** The statuses no later step leaves, but for an operator's redrive of a failed instance. */
export const FINAL_STATUSES: readonly InstanceStatus[] = ["completed", "failed", "aborted"];

/**
 * How a message came to be, when not by a processing's next event or retry: shown in `history`.
 * `event` (`sendEvent`), `timer` (an `after:` transition), `abort` (the message that takes a
 * waiting instance to its abort), `resume` (a parked message sent again), `recover` (the last
 * message sent again), `redrive` (a failed step run again), `dead-letter` (a dead letter sent
 * again). `start` is reserved: the start message (step 0, retries 0) carries no origin, and
 * `history` shows it as `start`.
 */
export type MessageOrigin = "start" | "event" | "timer" | "abort" | "resume" | "recover" | "redrive" | "dead-letter" | "migrate";

/** One message an instance produced, as `history` shows it (the `run --json` shape). */
export interface JournalMessage {
  readonly current_state: string;
  readonly current_event: string;
  readonly steps: number;
  readonly retries: number;
  readonly user_context: Record<string, unknown>;
  readonly role: "stream" | "retry";
  readonly side: Side;
  /**
   * When it was sent: milliseconds since the epoch, on the clock of the process that sent it.
   * Absent in entries journaled before Switchyard recorded it.
   */
  readonly at?: number | undefined;
  /** What sent it, when not a processing's next event or retry ({@link MessageOrigin}). */
  readonly origin?: MessageOrigin | undefined;
  /** When it becomes due (ms since the epoch), for a message sent with a delay (a timer). */
  readonly due?: number | undefined;
  /** The machine version the message runs under (SPEC §10); absent for an unversioned (seed) message. */
  readonly version?: string | undefined;
  /** A migration's entry (`origin: "migrate"`): the version and state the instance left. */
  readonly migrated_from?: { readonly version: string | null; readonly state: string } | undefined;
}

/** Which of a transition's actions threw, named as the definition names it. */
export type ActionSlot = "exit_action" | "action" | "entry_action" | "do_action";

/**
 * One failed attempt at processing a message (SPEC §3 step 6), as `history` shows it between the
 * messages: what threw, where, when, and what the engine did about it. `steps`, `retries`,
 * `current_state` and `current_event` are the processed message's; `state`, `slot`, `event` and
 * `action` say which action threw (absent when no action did: the lease was unavailable, the
 * transition was missing, the next message could not be built or sent).
 */
export interface JournalAttempt {
  /** When the attempt failed: milliseconds since the epoch, on the engine's clock. */
  readonly at: number;
  readonly current_state: string;
  readonly current_event: string;
  readonly steps: number;
  readonly retries: number;
  /** `retry` when it is tried again, `fatal` when the instance failed with it. */
  readonly outcome: "retry" | "fatal";
  /** The state the instance was in while the action ran (the target, for entry and do actions). */
  readonly state?: string | undefined;
  readonly slot?: ActionSlot | undefined;
  /** The event being taken when the action ran (differs from `current_event` after local transitions). */
  readonly event?: string | undefined;
  /** The action's reference, e.g. `./actions.ts#VirusScan`. */
  readonly action?: string | undefined;
  /** Where it failed, in one phrase: `scanning.do_action ./actions.ts#VirusScan`. */
  readonly where?: string | undefined;
  /** The error's name (`Error`, `TypeError`, …). */
  readonly error_name: string;
  /** The error's message, at most `ATTEMPT_MESSAGE_LIMIT` characters. */
  readonly error: string;
  /**
   * The stack frames of your code (Node's internals and Switchyard's own frames left out), one
   * `at …` per line, at most `ATTEMPT_STACK_FRAMES` frames and `ATTEMPT_STACK_LIMIT` characters.
   */
  readonly stack?: string | undefined;
}

/** One metrics emission, as `run --json` shows it. */
export interface JournalErrors {
  readonly counters: ErrorCounters;
  readonly dimensions: MetricDimensions;
}

/** An operator's abort of an instance, as the journal keeps it. */
export interface AbortRequest {
  readonly reason: string;
  /** When it was asked (ms since the epoch). */
  readonly at: number;
  /**
   * The step whose processing took the instance out of its state into the machine's `on_abort`
   * state; absent until one did. Steps after it run the compensation as usual.
   */
  readonly step?: number | undefined;
}

/** What the journal knows of one instance. */
export interface InstanceRecord {
  readonly correlationId: string;
  readonly machineName: string;
  /** As users see it: `paused` over a stored `running` or `waiting` ({@link pausedStatus}). */
  readonly status: InstanceStatus;
  readonly state: string;
  readonly userContext: Record<string, unknown>;
  /** Milliseconds since the epoch. */
  readonly startedAt: number;
  readonly updatedAt: number;
  /** Why the instance failed or was aborted, when it was. */
  readonly reason?: string | undefined;
  /**
   * The step of the last processed message the record reflects (0 until the first processing). A
   * `waiting` instance waits at this step: an external event becomes step `steps + 1`.
   */
  readonly steps?: number | undefined;
  /**
   * Where the instance's lease lives and the last fence token it was given, as its last processing
   * left them; an external event's message carries them on (SPEC §3 failover), so the event step's
   * lease stays on that cache and its token keeps growing. Undefined before the first processing.
   */
  readonly leasePrimary?: boolean | undefined;
  readonly fenceToken?: number | undefined;
  /** The stored status under a `paused` one: what the instance does once resumed. */
  readonly pausedStatus?: "running" | "waiting" | undefined;
  /** True when an operator paused the instance itself (a machine pause shows as parked messages only); absent otherwise. */
  readonly paused?: true | undefined;
  /** How many of its messages are parked; absent when none is. */
  readonly parked?: number | undefined;
  /** The abort an operator asked for, once asked. */
  readonly abort?: AbortRequest | undefined;
  /** The machine version the instance is pinned to (SPEC §10); absent for an instance started unversioned. */
  readonly version?: string | undefined;
}

/** What one processing tells the journal: {@link JournalPort.updateInstance}. */
export type InstanceUpdate = Pick<InstanceRecord, "machineName" | "reason" | "leasePrimary" | "fenceToken" | "state" | "userContext"> & {
  /** The version the processing ran under, when it differs from the record's (a migration at the next message); absent keeps the record's. */
  readonly version?: string | undefined;
  readonly status: StoredStatus;
  /** The step of the processed message. */
  readonly steps: number;
  /** Set when this processing took the instance into its `on_abort` state ({@link AbortRequest.step}). */
  readonly abortStep?: number | undefined;
};

/** Filter for {@link JournalPort.list}. */
export interface ListOptions {
  readonly machineName?: string | undefined;
  /** Only instances pinned to this version; `null` for the unversioned ones. */
  readonly version?: string | null | undefined;
  /** The status as users see it: `waiting` leaves out paused instances, `paused` finds them. */
  readonly status?: InstanceStatus | undefined;
  /** Only instances whose current state ({@link InstanceRecord.state}) is this one. */
  readonly state?: string | undefined;
  /**
   * Only instances whose correlation id starts with this text, taken literally (no wildcards:
   * `%`, `_` and `\\` match themselves); compared by code point, whatever the database's collation.
   * The empty text filters nothing.
   */
  readonly idPrefix?: string | undefined;
  /** Only instances whose record was last updated before this time (ms since the epoch). */
  readonly updatedBefore?: number | undefined;
  /**
   * Continue after this instance in the listing's order (newest started first, ties by id):
   * only instances started before `startedAt`, or at `startedAt` with an id after
   * `correlationId`. The instance itself need not exist any more, so a page boundary holds
   * whatever changed since, and instances started in the same millisecond are neither skipped
   * nor repeated.
   */
  readonly after?: ListPosition | undefined;
  readonly limit?: number | undefined;
}

/** Which instances and processings {@link JournalPort.activity} sums. */
export interface ActivityFilter {
  readonly machineName?: string | undefined;
  /**
   * Only instances that ended (completed, failed, aborted) at or after this time, and only the
   * processings of messages sent at or after it (ms since the epoch); absent: all of them.
   */
  readonly since?: number | undefined;
}

/**
 * One machine's instances: how many ended in the window (`completed`, `failed`, `aborted`: their
 * record was last updated at or after `since`), and how many are `running`, `waiting` or `paused`
 * now, whatever `since` says.
 */
export interface MachineActivity {
  readonly machineName: string;
  readonly completed: number;
  readonly failed: number;
  readonly aborted: number;
  readonly running: number;
  readonly waiting: number;
  readonly paused: number;
}

/**
 * The timed processings of the messages a machine's instances received in one state, with the
 * nearest-rank percentiles of their step latency in milliseconds (see `docs/cli.md#metrics`): a
 * message's step latency runs from when it became due (its send time `at`, or `due` for a timer)
 * to the send time of the instance's next message, when that message is the processing's own
 * (its next event, its retry or its timer: no `origin`, or `timer`); for the instance's last
 * message of an instance that ended (completed, failed, aborted), to the record's `updatedAt`.
 * Queue wait, lease and actions included; never below 0 (clocks of two processes may disagree).
 */
export interface StateActivity {
  readonly machineName: string;
  /** The message's `current_state`: the state the instance was in when it was processed. */
  readonly state: string;
  /** How many processings were timed. */
  readonly processed: number;
  readonly p50: number;
  readonly p90: number;
  readonly p99: number;
  readonly max: number;
}

/** What {@link JournalPort.activity} returns: machines and states in code-unit order of their names. */
export interface Activity {
  readonly machines: MachineActivity[];
  readonly states: StateActivity[];
  /**
   * Set by a journal that reads instances one by one (Redis, DynamoDB) when it stopped at its
   * limit: only this many instances, the most recently started, were read. Absent when every
   * instance was.
   */
  readonly capped?: number | undefined;
}

/** Which instances {@link JournalPort.stateCounts} counts. */
export interface StateCountFilter {
  readonly machineName?: string | undefined;
}

/** How many instances of a machine version rest in one state with one status (as users see it). */
export interface StateCount {
  readonly machineName: string;
  /** The version the instances are pinned to; `null` for the unversioned ones. */
  readonly version: string | null;
  /** The instances' current state ({@link InstanceRecord.state}). */
  readonly state: string;
  /** As users see it: `paused` counted apart from `running` and `waiting`, as {@link ListOptions.status} filters. */
  readonly status: InstanceStatus;
  readonly count: number;
}

/**
 * What {@link JournalPort.stateCounts} returns: counts by machine, version (unversioned first),
 * state and status, each in code-unit order.
 */
export interface StateCounts {
  readonly counts: StateCount[];
  /**
   * Set by a journal that reads instances one by one (Redis, DynamoDB) when it stopped at its
   * limit, as {@link Activity.capped}: only this many instances, the most recently started, were
   * counted. Absent when every instance was.
   */
  readonly capped?: number | undefined;
}

/** A place in the listing's order: an instance's start time and id ({@link ListOptions.after}). */
export interface ListPosition {
  /** Milliseconds since the epoch. */
  readonly startedAt: number;
  readonly correlationId: string;
}

/**
 * What the engine reads of an instance before it runs a step (one journal read), and again after
 * the step's actions, before it sends anything (so an abort asked meanwhile discards the outcome).
 */
export interface InstanceControl {
  readonly status: StoredStatus;
  /** The record's step ({@link InstanceRecord.steps}). */
  readonly steps: number;
  readonly abort?: AbortRequest | undefined;
  /** The instance is paused, or a pause of its machine at this state (or at every state) holds. */
  readonly paused: boolean;
}

/** A pause of a machine's instances: at one state, or (no `state`) at every state. */
export interface PauseRule {
  readonly machineName: string;
  readonly state?: string | undefined;
}

/** A message held while its instance is paused, to be sent again by `resume`. */
export interface ParkedMessage {
  readonly correlationId: string;
  readonly machineName: string;
  /** The message's `current_state` (what a machine pause at a state matches). */
  readonly state: string;
  readonly steps: number;
  readonly retries: number;
  /** The wire message, as received. */
  readonly body: string;
  /** Milliseconds since the epoch. */
  readonly parkedAt: number;
}

/**
 * The instance journal: status and history of each instance, for `status`, `history`, `list` and
 * `run`, and the operator's controls (abort, pause) the engine reads before each step. Not a
 * protocol role (it is not failed over and not subject to chaos); a failed journal write is logged
 * and never fails a transition, but a message of a paused instance is acknowledged only once
 * {@link park} has stored it.
 */
export interface JournalPort {
  readonly uri: string;
  /**
   * Create the records of new instances in one call, leaving any id that already has a record
   * untouched (the insert itself is the uniqueness check of `start`). Returns, per record in order,
   * whether it was created. The ids must be distinct.
   */
  createInstances(records: readonly InstanceRecord[]): Promise<boolean[]>;
  /** Delete an instance's record, history, attempts and parked messages (a start that could not send anything). */
  deleteInstance(correlationId: string): Promise<void>;
  /**
   * Update status, state and context after processing step `steps`; unknown instances are
   * created. Monotonic: an update for an earlier step than the record's is ignored, and so is one
   * that would take a `completed`, `failed` or `aborted` instance back to `running` or `waiting`
   * (a late write of a processing that lost its lease must not undo its successor's).
   */
  updateInstance(correlationId: string, update: InstanceUpdate): Promise<void>;
  appendMessage(correlationId: string, message: JournalMessage): Promise<void>;
  appendErrors(correlationId: string, errors: JournalErrors): Promise<void>;
  /** Record a failed attempt of one of the instance's messages. */
  appendAttempt(correlationId: string, attempt: JournalAttempt): Promise<void>;
  getInstance(correlationId: string): Promise<InstanceRecord | undefined>;
  /**
   * The instance's messages in step order (messages of one step in append order): producers may
   * journal concurrently, e.g. `start` records step 0 after its send, while a worker may already
   * have recorded step 1.
   */
  history(correlationId: string): Promise<JournalMessage[]>;
  errors(correlationId: string): Promise<JournalErrors[]>;
  /** The instance's failed attempts, in step order (then retries, then append order). */
  attempts(correlationId: string): Promise<JournalAttempt[]>;
  /**
   * Instances, most recently started first, ties by id in byte order (the database's collation on
   * PostgreSQL); from {@link ListOptions.after} on when given.
   */
  list(options: ListOptions): Promise<InstanceRecord[]>;
  /**
   * Instance counts per machine and step latencies per machine and state ({@link Activity}),
   * computed by the backend: SQL on SQLite and PostgreSQL; on Redis and DynamoDB from a scan of at
   * most `ACTIVITY_SCAN_LIMIT` instances, most recently started first, which says when it stopped
   * short ({@link Activity.capped}).
   */
  activity(filter: ActivityFilter): Promise<Activity>;
  /**
   * Instance counts per machine, version, state and status as users see it ({@link StateCounts}):
   * a heat map of where instances rest. SQL on SQLite and PostgreSQL; on Redis and DynamoDB from a
   * scan of at most `ACTIVITY_SCAN_LIMIT` instances, most recently started first, as
   * {@link activity} (then {@link StateCounts.capped} is set).
   */
  stateCounts(filter: StateCountFilter): Promise<StateCounts>;

  /** The instance's controls, with whether a pause of `machineName` at `state` holds; undefined for an unknown instance. */
  control(correlationId: string, machineName: string, state: string): Promise<InstanceControl | undefined>;
  /**
   * Ask for the instance's abort: stored only if none was asked yet and its status is not final.
   * True when this call stored it.
   */
  requestAbort(correlationId: string, reason: string, at: number): Promise<boolean>;
  /** Set or clear the instance's own pause flag; false for an unknown instance. */
  setPaused(correlationId: string, paused: boolean): Promise<boolean>;
  /** Add a machine pause (idempotent). */
  addPause(rule: PauseRule): Promise<void>;
  /** Remove a machine pause; false when there was none. */
  removePause(rule: PauseRule): Promise<boolean>;
  /** Every machine pause, by machine then state (a machine-wide pause first). */
  pauses(): Promise<PauseRule[]>;
  /**
   * Store a message of a paused instance, in one atomic step with the check that the instance is
   * still paused (its flag, or a machine pause at the message's state): false, storing nothing,
   * when it is not. Parking the same `(steps, retries)` again replaces the entry.
   */
  park(message: ParkedMessage): Promise<boolean>;
  /** Parked messages of one instance, or of a machine (at one state), oldest first. */
  parkedMessages(filter: { readonly correlationId: string } | { readonly machineName: string; readonly state?: string | undefined }): Promise<ParkedMessage[]>;
  /** Delete a parked message once it was sent again (absent entries are fine). */
  unpark(correlationId: string, steps: number, retries: number): Promise<void>;
  /**
   * Take a `failed` instance back to `running` for a redrive of step `steps + 1`: sets the status
   * and step and clears the reason, whatever the monotonic rule says; false, changing nothing,
   * when the instance is not `failed`.
   */
  reopen(correlationId: string, steps: number): Promise<boolean>;

  /**
   * The definition registry (SPEC §10). Store versions not stored yet (insert if absent: an existing
   * version keeps its record and `deployedAt`). Returns, per record in order, whether it was new.
   */
  registerDefinitions(records: readonly DefinitionRecord[]): Promise<boolean[]>;
  /** Registered versions, of one machine when given: by machine name, then newest `deployedAt` first (ties by version). */
  definitionVersions(machineName?: string): Promise<DefinitionRecord[]>;
  /** One registered version. */
  getDefinition(machineName: string, version: string): Promise<DefinitionRecord | undefined>;
  /** Remove a registered version (its migration orders from or to it too); false when it was not registered. */
  deleteDefinition(machineName: string, version: string): Promise<boolean>;
  /**
   * Instance counts per machine, version and status as users see it (`paused` counted apart from
   * `running` and `waiting`), of one machine when given; unversioned instances under `version: null`.
   */
  versionCounts(machineName?: string): Promise<VersionCount[]>;
  /** Record a migration order (idempotent on `machineName`, `from`): a later order from the same version replaces it. */
  addMigrationOrder(order: MigrationOrder): Promise<void>;
  /** Migration orders, of one machine when given, by machine then `from`. */
  migrationOrders(machineName?: string): Promise<MigrationOrder[]>;
  /**
   * Move one instance to another version in one atomic step: only when its record is still on
   * `move.fromVersion` (`null`: unversioned) at step `move.steps` with a status of `running` or
   * `waiting` (paused or not); sets its version, state, user context and `updatedAt`, and appends
   * `move.entry` to its history. False, changing nothing, otherwise.
   */
  migrateInstance(correlationId: string, move: InstanceMove): Promise<boolean>;
}

/** A machine version in the definition registry (SPEC §10). */
export interface DefinitionRecord {
  readonly machineName: string;
  /** The content hash ({@link MachineDefinition.version}). */
  readonly version: string;
  readonly label?: string | undefined;
  /** The normalized definition: JSON, as {@link MachineDocument}. */
  readonly document: MachineDocument;
  /** When it was first registered (ms since the epoch). */
  readonly deployedAt: number;
}

/** How many instances of a machine version have one status. */
export interface VersionCount {
  readonly machineName: string;
  readonly version: string | null;
  readonly status: InstanceStatus;
  readonly count: number;
}

/**
 * An operator's order that instances of `machineName` on version `from` move to version `to`
 * (`switchyard migrate`): waiting and paused ones at once, running ones at their next message.
 */
export interface MigrationOrder {
  readonly machineName: string;
  /** The version instances leave (a hash); `null` for unversioned instances. */
  readonly from: string | null;
  readonly to: string;
  /** When it was given (ms since the epoch). */
  readonly at: number;
}

/** One instance's move to another version: {@link JournalPort.migrateInstance}. */
export interface InstanceMove {
  readonly fromVersion: string | null;
  readonly steps: number;
  readonly toVersion: string;
  readonly state: string;
  readonly userContext: Record<string, unknown>;
  /** The history entry of the move (`origin: "migrate"`, with `migrated_from`). */
  readonly entry: JournalMessage;
}

/**
 * One AWS API call an SDK client of a backend made, as {@link ApiCallObserver} sees it: the service
 * (`SQS`, `DynamoDB`, `Kinesis`, `SNS`, `CloudWatch`), the operation (`SendMessage`, `PutItem`, …),
 * the command's input and, when it succeeded, its output.
 */
export interface ApiCall {
  readonly service: string;
  readonly operation: string;
  readonly input: unknown;
  /** The command's output; undefined when the call failed. */
  readonly output: unknown;
}

/**
 * Sees every AWS API call the backends make (`switchyard cost` counts them). Opt-in: the AWS
 * backends attach their SDK middleware only when the settings' opener is given one, so without it
 * a call costs nothing extra.
 */
export interface ApiCallObserver {
  /**
   * Ask DynamoDB to return the capacity each call consumed (`ReturnConsumedCapacity: TOTAL`), so
   * the output carries `ConsumedCapacity`; nothing else about the request changes.
   */
  readonly consumedCapacity?: boolean | undefined;
  onCall(call: ApiCall): void;
}

/** Anything holding connections or files. */
export interface Closable {
  close(): Promise<void>;
}
