/**
 * The fused transition path on Redis (see {@link TransitionPort}): `begin` and `commit` are one
 * Lua script call each (`transition-scripts.ts`) instead of one call per port: `begin` takes the
 * lease with its fence, reads the dispatched flag and, asked for, the instance's controls;
 * `commit` does the send (or the timer), its journal entry, the ack, the retry removal, the release,
 * the dispatched mark and the journal's instance update, behind the abort gate; asked to
 * (`claimNext`), it sends the next message claimed for this processor and takes its lease for the
 * next step in place of the release, and reads what a fused begin would have read.
 *
 * The scripts run the separate ports' own Lua on the same keys with the same arguments, and take
 * "now" from the same clock, so a processing may take the lease fused and, after a failure, finish
 * over the separate ports, and processes on either path share a prefix. The keys span several
 * hash slots: the backend offers this port only on a server without cluster mode (see
 * `RedisBackend.transitions`). Redis keeps no checkpoints, so a commit never stores one.
 */
import type { ClaimedNext, Clock, Receipt, TransitionBegin, TransitionBegun, TransitionCommit, TransitionCommitted, TransitionPort } from "../../ports.js";
import { claimOf } from "../claim-next.js";
import { leaseAcquireArgs, leaseResultOf, markDispatchedArgs } from "./cache.js";
import type { RedisConnection } from "./connection.js";
import { controlArgs, controlOf, journalRetentionMs, journalUpdateArgs } from "./journal.js";
import { cacheKeys, journalBase, journalKeys, journalSharedKeys, retryKeys, streamKeys } from "./keys.js";
import { member, type RetryHandle, retryReceipt, retryScheduleArgs } from "./retry-store.js";
import { CONSUMER_GROUP, type StreamHandle, streamReceipt, streamSendArgs } from "./stream.js";

/** The fused path over one prefix's cache, stream, retry and journal keys. */
export class RedisTransitions implements TransitionPort {
  readonly uri: string;
  readonly #connection: RedisConnection;
  readonly #clock: Clock;
  readonly #prefix: string;
  readonly #stream: readonly string[];
  readonly #retry: readonly string[];
  readonly #retentionMs: number;

  constructor(uri: string, connection: RedisConnection, clock: Clock) {
    this.uri = uri;
    this.#connection = connection;
    this.#clock = clock;
    this.#prefix = connection.location.prefix;
    this.#stream = streamKeys(this.#prefix);
    this.#retry = retryKeys(this.#prefix);
    this.#retentionMs = journalRetentionMs(connection.location.journalTtlDays);
  }

  async begin(request: TransitionBegin): Promise<TransitionBegun> {
    const { lease, fence, dispatched } = cacheKeys(this.#prefix, request.correlationId);
    const { instance } = journalKeys(this.#prefix, request.correlationId);
    const { pauses } = journalSharedKeys(this.#prefix);
    const { control } = request;
    const args = [
      ...leaseAcquireArgs(request.steps, request.retries, this.#clock.now(), request.leaseTimeoutSeconds, request.minFenceToken),
      ...(control === undefined ? [0, "", ""] : [1, ...controlArgs(control.machineName, control.state)]),
    ];
    const [taken, value, flag, row] = await this.#connection.run("fused begin", (redis) =>
      redis.syTransitionBegin(lease, fence, dispatched, instance, pauses, ...args),
    );
    const result = leaseResultOf([taken, value]);
    if (!result.acquired) return { lease: result, dispatched: false, control: undefined };
    return { lease: result, dispatched: flag === 1, control: control === undefined ? undefined : controlOf(row ?? null) };
  }

  async commit(request: TransitionCommit): Promise<TransitionCommitted> {
    if (request.checkpoint) throw new Error(`${this.uri}: Redis keeps no checkpoints; the fused commit cannot store one`);
    const { correlationId, steps, send, delivery } = request;
    const now = this.#clock.now();
    const journal = journalKeys(this.#prefix, correlationId);
    const cache = cacheKeys(this.#prefix, correlationId);
    let message: (string | number)[] = ["", "", "", ""];
    if (send?.role === "stream") message = streamSendArgs(send.message, now);
    if (send?.role === "retry") {
      // The script's order is the stream's (body, correlation id, due, member); the member is the step's.
      const [entry, id, body, due] = retryScheduleArgs(send.message, now) as [string, string, string, number];
      message = [body, id, due, entry];
    }
    let handle: string[];
    if (delivery.role === "stream") {
      const { id, token } = delivery.handle as StreamHandle;
      handle = [id, token];
    } else {
      const retry = delivery.handle as RetryHandle;
      handle = [member(retry.correlationId, retry.steps), retry.correlationId];
    }
    const update = request.instance;
    const claim = claimOf(request);
    const control = claim?.control;
    const args: (string | number)[] = [
      now,
      request.abortGate ? 1 : 0,
      steps,
      request.retries,
      request.fenceToken,
      ...markDispatchedArgs(steps, now, request.dispatchedTtlSeconds).slice(1),
      send?.role ?? "",
      ...message,
      send !== undefined && update !== undefined ? JSON.stringify(send.journal) : "",
      delivery.role,
      ...handle,
      CONSUMER_GROUP,
      request.removeRetry ? member(correlationId, steps) : "",
      correlationId,
      ...(claim === undefined
        ? [0, "", "", 0, 0, 0, 0, 0, 0, 0]
        : [1, now + claim.visibilityTimeoutSeconds * 1000, claim.token, ...leaseAcquireArgs(steps + 1, 0, now, claim.leaseTimeoutSeconds, 0)]),
      ...(control === undefined ? [0, "", ""] : [1, ...controlArgs(control.machineName, control.state)]),
      ...(update === undefined ? [0] : [1, ...journalUpdateArgs(correlationId, update, now, this.#retentionMs)]),
    ];
    const keys = [
      journalBase(this.#prefix),
      journal.instance,
      journal.history,
      cache.lease,
      cache.dispatched,
      ...this.#stream,
      ...this.#retry,
      cache.fence,
      journalSharedKeys(this.#prefix).pauses,
    ];
    const [committed, released, where, id, claimed, fence, flag, row] = await this.#connection.run("fused commit", (redis) =>
      redis.syTransitionCommit(...keys, ...args),
    );
    if (committed !== 1) return { committed: false, released: false };
    let receipt: Receipt | undefined;
    if (send?.role === "stream") receipt = streamReceipt(this.#stream, where, id);
    if (send?.role === "retry") receipt = retryReceipt(this.#retry, send.message.correlationId, send.message.steps);
    const done = { committed: true, receipt, released: released === 1 };
    if (claimed !== 1 || claim === undefined || send === undefined) return done;
    const begun: TransitionBegun = {
      lease: { acquired: true, fenceToken: Number(fence) },
      dispatched: flag === 1,
      control: control === undefined ? undefined : controlOf(row ?? null),
    };
    return { ...done, next: { delivery: claimedDelivery(String(id), send.message.body, claim.token), begun } };
  }
}

/** The delivery of a message a commit sent claimed, as `RedisStream.receive` gives it (the fused path is the primary side's). */
function claimedDelivery(id: string, body: string, token: string): ClaimedNext["delivery"] {
  return { id, body, receiveCount: 1, role: "stream", side: "primary", handle: { id, token } satisfies StreamHandle };
}
