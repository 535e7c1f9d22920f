/**
 * The fused transition path of a DynamoDB cache (see {@link TransitionPort}) around the transports
 * and stores of the other roles, wherever they are (SQS, Kinesis, SNS, DynamoDB). DynamoDB cannot
 * share a transaction with SQS, and a transaction bills twice per item, so this path does not make
 * a transition atomic. It saves the writes the separate ports repeat on the cache's item:
 *
 * - `begin`: the lease's conditional UpdateItem returns the item, so the dispatched flag comes with
 *   it (no GetItem); then the controls, as the journal reads them.
 * - `commit`: the abort gate (a pending abort on the instance's record: one consistent GetItem when
 *   the journal is DynamoDB, else the journal's controls), the send, then the history entry,
 *   checkpoint, retry entry's removal and instance update side by side, and last the dispatched
 *   mark and the release in one conditional UpdateItem (two writes only when the lease was lost).
 *
 * The items written are those of the separate ports, written by their own code, so processes on
 * either path interoperate. A failure before the send throws (the engine then goes on over the
 * separate ports); after it, nothing throws: the failed writes come back in `failures`. The
 * delivery is the transport's to acknowledge (`unacknowledged`), and `claimNext` is not offered:
 * the next message is sent to its transport as usual.
 */
import type {
  CommitFailure,
  InstanceControl,
  JournalPort,
  Receipt,
  TransitionBegin,
  TransitionBegun,
  TransitionCommit,
  TransitionCommitted,
  TransitionPort,
} from "../../../ports.js";
import type { FusedPorts } from "../../backend.js";
import type { DynamoCache } from "./cache.js";
import { DynamoJournal } from "./journal.js";

/** The fused path of one DynamoDB cache table over the other roles' ports. */
export class DynamoTransitions implements TransitionPort {
  readonly uri: string;
  readonly #cache: DynamoCache;
  readonly #ports: FusedPorts;

  constructor(cache: DynamoCache, ports: FusedPorts) {
    this.uri = cache.uri;
    this.#cache = cache;
    this.#ports = ports;
  }

  async begin(request: TransitionBegin): Promise<TransitionBegun> {
    const { correlationId, steps } = request;
    const { lease, dispatched } = await this.#cache.acquireLeaseAndFlag(correlationId, steps, request.retries, request.leaseTimeoutSeconds, request.minFenceToken);
    const journal = this.#ports.journal;
    let control: InstanceControl | undefined;
    if (lease.acquired && request.control !== undefined && journal !== undefined) {
      // The lease is taken: a journal that cannot be read must not fail the begin (the engine would
      // then try to take the lease it holds). Without the controls the engine reads them itself,
      // and logs why it cannot.
      control = await journal.control(correlationId, request.control.machineName, request.control.state).catch(() => undefined);
    }
    return { lease, dispatched, control };
  }

  async commit(request: TransitionCommit): Promise<TransitionCommitted> {
    const { correlationId, steps } = request;
    const { stream, retry, checkpoint, journal } = this.#ports;
    if (request.abortGate && journal !== undefined && (await this.#abortPending(journal, request))) {
      return { committed: false, released: false };
    }
    const send = request.send;
    let receipt: Receipt | undefined;
    if (send !== undefined) receipt = send.role === "stream" ? await stream.send(send.message) : await retry.schedule(send.message);
    // Sent (or nothing to send): from here on a failure is reported, never thrown.
    const writes: Array<readonly [CommitFailure["write"], () => Promise<void>]> = [];
    if (send !== undefined && journal !== undefined) writes.push(["journal", () => journal.appendMessage(correlationId, send.journal)]);
    if (send !== undefined && receipt !== undefined && request.checkpoint && checkpoint !== undefined) {
      const stored = { ...receipt, role: send.role, side: "primary" };
      writes.push(["checkpoint", () => checkpoint.store(correlationId, steps + 1, stored)]);
    }
    if (request.removeRetry) writes.push(["retry", () => retry.remove(correlationId, steps)]);
    const update = request.instance;
    if (update !== undefined && journal !== undefined) writes.push(["journal", () => journal.updateInstance(correlationId, update)]);
    const settled = await Promise.allSettled(writes.map(([, write]) => write()));
    const failures: CommitFailure[] = [];
    settled.forEach((result, index) => {
      if (result.status === "rejected") failures.push({ write: writes[index][0], error: asError(result.reason) });
    });
    // Last, as the separate ports release last: the mark and the release in one write.
    // A failed write leaves the lease held: the engine releases it, as after any commit that did not.
    let released = false;
    try {
      released = await this.#cache.markAndRelease(correlationId, steps, request.retries, request.fenceToken, request.dispatchedTtlSeconds);
    } catch (error) {
      failures.push({ write: "dispatched", error: asError(error) });
    }
    return { committed: true, receipt, released, unacknowledged: true, ...(failures.length === 0 ? {} : { failures }) };
  }

  /** An abort asked and not yet taken: the record's abort fields alone where the journal can read them so. */
  async #abortPending(journal: JournalPort, request: TransitionCommit): Promise<boolean> {
    if (journal instanceof DynamoJournal) return journal.abortPending(request.correlationId);
    const update = request.instance;
    const control = await journal.control(request.correlationId, update?.machineName ?? "", update?.state ?? "");
    return control?.abort !== undefined && control.abort.step === undefined;
  }
}

function asError(reason: unknown): Error {
  return reason instanceof Error ? reason : new Error(String(reason));
}
