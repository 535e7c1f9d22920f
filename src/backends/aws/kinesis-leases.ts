/**
 * How the consumers of one Kinesis stream share its shards, through leases in the checkpoint
 * role's store (the {@link ConsumerStatePort}): the group is the stream ARN; each shard has a lease
 * `shard/<shardId>` holding its owner, expiry and position (the sequence number of the last record
 * acknowledged in order), and each live consumer a heartbeat `member/<n>` (slots are reused, so
 * the group holds as many as consumers ever ran at once).
 *
 * Every write names the version its writer last saw, so two consumers never both take a shard and
 * a consumer that lost its lease (it expired and another took it) can no longer move the position.
 * A consumer holds at most its fair share, `ceil(shards / live consumers)`: one that holds more
 * stops reading its surplus shards, waits until what it handed out is acknowledged, stores the
 * position and releases them, so the next owner starts exactly after the last processed record —
 * a hand-over loses nothing and delivers nothing twice. Only a consumer that stops without
 * releasing (a crash) leaves its shards to expire: the next owner then starts after the last
 * stored position, and records handed out but not yet acknowledged are delivered again.
 *
 * All times are the injected clock's. Writes of one lease are serialized in this process, so a
 * position update never races a renewal of the same lease.
 */
import { SettingsError } from "../../errors.js";
import type { Clock, ConsumerStatePort, GroupLease, GroupLeaseValue } from "../../ports.js";

/** How long a lease lasts unless renewed (ms). */
export const LEASE_MS = 30_000;
/** How often a consumer renews its leases and re-balances (ms). */
export const SYNC_MS = 10_000;
/** The position of a shard that was closed (resharding) and read to its end. */
export const SHARD_END = "SHARD_END";

const SHARD = "shard/";
const MEMBER = "member/";

/** The lease key of a shard. */
export const shardKey = (shardId: string) => `${SHARD}${shardId}`;

/** A shard as ListShards describes it. */
export interface ShardInfo {
  readonly ShardId?: string | undefined;
  readonly ParentShardId?: string | undefined;
  readonly AdjacentParentShardId?: string | undefined;
}

/** What one consumer should change to hold its fair share. */
export interface SharePlan {
  /** Shards free to take (no lease, released, or expired), in shard order: take up to the share. */
  readonly free: ReadonlyArray<{ readonly shardId: string; readonly lease: GroupLease | undefined }>;
  /** Its fair share: `ceil(shards / live consumers)`. */
  readonly share: number;
}

/**
 * The fair share of `owner` and the shards it may take, from the group's leases and the stream's
 * shards. A shard whose parents (resharding) are still being read waits for them, as the KCL does.
 */
export function planShares(input: {
  readonly owner: string;
  readonly now: number;
  readonly shards: readonly ShardInfo[];
  readonly leases: readonly GroupLease[];
  /** Shards this consumer holds (and is not giving up). */
  readonly held: ReadonlySet<string>;
}): SharePlan {
  const byKey = new Map(input.leases.map((lease) => [lease.key, lease]));
  const ids = new Set(input.shards.map((shard) => shard.ShardId ?? ""));
  const finished = (id: string) => byKey.get(shardKey(id))?.position === SHARD_END;
  const ready = (shard: ShardInfo) =>
    [shard.ParentShardId, shard.AdjacentParentShardId].every((parent) => parent === undefined || !ids.has(parent) || finished(parent));
  const open = input.shards.filter((shard) => !finished(shard.ShardId ?? "") && (ready(shard) || input.held.has(shard.ShardId ?? "")));
  const others = input.leases.filter(
    (lease) => lease.key.startsWith(MEMBER) && lease.owner !== "" && lease.owner !== input.owner && lease.expiresAt > input.now,
  );
  const share = Math.ceil(open.length / (others.length + 1));
  const free = open
    .map((shard) => shard.ShardId ?? "")
    .filter((id) => !input.held.has(id))
    .map((id) => ({ shardId: id, lease: byKey.get(shardKey(id)) }))
    .filter(({ lease }) => lease === undefined || lease.owner === "" || lease.expiresAt <= input.now);
  return { free, share };
}

/** The leases one consumer holds in its group, and every write it makes to them. */
export class ShardLeases {
  readonly group: string;
  readonly owner: string;
  readonly #clock: Clock;
  readonly #resolve: () => Promise<ConsumerStatePort>;
  /** The latest version this consumer wrote, per lease key it holds. */
  readonly #held = new Map<string, GroupLease>();
  /** The write chain per lease key (one write at a time). */
  readonly #writes = new Map<string, Promise<unknown>>();
  #member: GroupLease | undefined;
  #state: Promise<ConsumerStatePort> | undefined;

  constructor(options: { group: string; owner: string; clock: Clock; state: () => Promise<ConsumerStatePort> }) {
    this.group = options.group;
    this.owner = options.owner;
    this.#clock = options.clock;
    this.#resolve = options.state;
  }

  /** The store, resolved once (a failed resolution is tried again next time). */
  state(): Promise<ConsumerStatePort> {
    if (this.#state === undefined) {
      const attempt = this.#resolve();
      this.#state = attempt;
      attempt.catch(() => {
        if (this.#state === attempt) this.#state = undefined;
      });
    }
    return this.#state;
  }

  /** Every lease of the group. */
  async leases(): Promise<GroupLease[]> {
    return (await this.state()).leases(this.group);
  }

  /** Renew this consumer's heartbeat, taking a free member slot first if it has none. */
  async heartbeat(leases: readonly GroupLease[]): Promise<void> {
    const now = this.#clock.now();
    const next = { owner: this.owner, expiresAt: now + LEASE_MS, position: "" };
    const state = await this.state();
    if (this.#member !== undefined) {
      this.#member = await state.swapLease(this.group, this.#member.key, this.#member.version, next);
      if (this.#member !== undefined) return;
    }
    const members = leases.filter((lease) => lease.key.startsWith(MEMBER));
    for (const slot of members.filter((lease) => lease.owner === "" || lease.expiresAt <= now)) {
      this.#member = await state.swapLease(this.group, slot.key, slot.version, next);
      if (this.#member !== undefined) return;
    }
    const taken = new Set(members.map((lease) => lease.key));
    let index = 0;
    while (taken.has(`${MEMBER}${index}`)) index++;
    // Lost a race for that slot: the next heartbeat tries again; meanwhile this consumer is not
    // counted by others, which only makes them take a little more.
    this.#member = await state.swapLease(this.group, `${MEMBER}${index}`, 0, next);
  }

  /** Take a free shard; its lease, or undefined when another consumer took it first. */
  async take(shardId: string, current: GroupLease | undefined): Promise<GroupLease | undefined> {
    const key = shardKey(shardId);
    const next = { owner: this.owner, expiresAt: this.#clock.now() + LEASE_MS, position: current?.position ?? "" };
    const taken = await (await this.state()).swapLease(this.group, key, current?.version ?? 0, next);
    if (taken !== undefined) this.#held.set(key, taken);
    return taken;
  }

  /**
   * Renew a held shard's lease, storing `position` (after the writes before it); false when the
   * lease was lost (another consumer took it after it expired): stop reading the shard.
   */
  store(shardId: string, position: string): Promise<boolean> {
    return this.#write(shardId, (lease) => ({ owner: this.owner, expiresAt: this.#clock.now() + LEASE_MS, position: position || lease.position }));
  }

  /** Give a held shard up at `position` (`SHARD_END` for a closed shard read to its end). */
  async release(shardId: string, position: string): Promise<void> {
    await this.#write(shardId, (lease) => ({ owner: "", expiresAt: 0, position: position || lease.position }));
    this.#held.delete(shardKey(shardId));
  }

  /** Release every held lease and the heartbeat (a graceful stop: others take over at once). */
  async releaseAll(positions: ReadonlyMap<string, string>): Promise<void> {
    const shards = [...this.#held.keys()].map((key) => key.slice(SHARD.length));
    await Promise.all(shards.map((shardId) => this.release(shardId, positions.get(shardId) ?? "")));
    const member = this.#member;
    this.#member = undefined;
    if (member !== undefined) await (await this.state()).swapLease(this.group, member.key, member.version, { owner: "", expiresAt: 0, position: "" });
  }

  /** Forget a shard without writing (its lease was lost). */
  forget(shardId: string): void {
    this.#held.delete(shardKey(shardId));
  }

  #write(shardId: string, next: (lease: GroupLease) => GroupLeaseValue): Promise<boolean> {
    const key = shardKey(shardId);
    const previous = this.#writes.get(key) ?? Promise.resolve();
    const write = previous.then(async () => {
      const lease = this.#held.get(key);
      if (lease === undefined) return false;
      const written = await (await this.state()).swapLease(this.group, key, lease.version, next(lease));
      if (written === undefined) {
        this.#held.delete(key);
        return false;
      }
      this.#held.set(key, written);
      return true;
    });
    const settled = write.catch(() => undefined);
    this.#writes.set(key, settled);
    settled.then(() => {
      if (this.#writes.get(key) === settled) this.#writes.delete(key);
    });
    return write;
  }
}

/** The one-line error of a Kinesis consumer whose settings keep no consumer state. */
export function noConsumerStateError(streamArn: string): SettingsError {
  return new SettingsError(
    `Kinesis stream ${streamArn} keeps its consumers' shard leases, positions and dead letters in the checkpoint role's store, and the settings switch the checkpoint role off; set checkpoint to a dynamodb ARN, a sqlite: or a postgres:// URI`,
  );
}
