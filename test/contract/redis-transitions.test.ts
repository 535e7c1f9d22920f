/**
 * The fused transition path on Redis (`RedisTransitions`) against the real server, each test under
 * its own key prefix: what `begin` and `commit` do, and that they read and write the same keys as
 * the separate ports, so that either path can pick up where the other left off.
 */
import { randomUUID } from "node:crypto";
import { afterAll, afterEach, describe, expect, it } from "vitest";
import type { BackendContext } from "../../src/backends/backend.js";
import { Redis } from "ioredis";
import { openRedisBackend, RedisBackend } from "../../src/backends/redis/backend.js";
import { streamKeys } from "../../src/backends/redis/keys.js";
import type { RedisTransitions } from "../../src/backends/redis/transitions.js";
import { silentLogger } from "../../src/logger.js";
import type { Clock, Delivery, InstanceUpdate, JournalMessage, TransitionCommit } from "../../src/ports.js";
import { TestClock } from "../support/clock.js";
import { deleteRedisKeys, needs, REDIS_URL, uniqueName } from "../support/servers.js";
import { message } from "./port-factory.js";

const run = uniqueName("redis_fused");
afterAll(() => deleteRedisKeys(run));

const context = (clock: Clock): BackendContext => ({ clock, baseDir: process.cwd(), endpoints: {}, logger: silentLogger });

const MACHINE = "orders";

/** The journal entry of a sent message, as the engine writes it. */
const entry = (steps: number, role: "stream" | "retry" = "stream"): JournalMessage => ({
  current_state: "next",
  current_event: "go",
  steps,
  retries: 0,
  user_context: { n: steps },
  role,
  side: "primary",
});

/** The journal's instance update after processing step `steps`. */
const update = (steps: number, fenceToken: number): InstanceUpdate & { readonly status: "running" } => ({
  machineName: MACHINE,
  status: "running",
  state: "next",
  userContext: { n: steps },
  steps,
  leasePrimary: true,
  fenceToken,
});

describe("redis fused transitions", needs("redis"), () => {
  const cleanups: Array<() => Promise<void>> = [];
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });

  /** A backend under a fresh prefix, its ports, and the fused port. */
  const open = async (clock = new TestClock()) => {
    const prefix = `${run}_${randomUUID().slice(0, 8)}`;
    const backend = await openRedisBackend(`${REDIS_URL}?prefix=${prefix}`, context(clock));
    cleanups.push(async () => {
      await backend.close();
      await deleteRedisKeys(prefix);
    });
    const fused = backend.transitions() as RedisTransitions;
    expect(fused).toBeDefined();
    return { clock, backend, fused, stream: backend.stream(), retry: backend.retry(), cache: backend.cache(), journal: backend.journal() };
  };

  type Opened = Awaited<ReturnType<typeof open>>;

  /** Start instance `cid` in the journal and put its step-`steps` message on the stream; returns its delivery. */
  const delivered = async (ports: Opened, cid: string, steps = 1): Promise<Delivery> => {
    const now = ports.clock.now();
    await ports.journal.createInstances([{ correlationId: cid, machineName: MACHINE, status: "running", state: "start", userContext: {}, startedAt: now, updatedAt: now }]);
    await ports.stream.send(message(cid, steps));
    const [delivery] = await ports.stream.receive({ max: 1, visibilityTimeoutSeconds: 30 });
    if (delivery === undefined) throw new Error("the message just sent was not received");
    return delivery;
  };

  /** A commit of step `steps` under `fenceToken` that sends step `steps + 1` to the stream and updates the journal. */
  const commitOf = (cid: string, steps: number, fenceToken: number, delivery: Delivery, extra: Partial<TransitionCommit> = {}): TransitionCommit => ({
    correlationId: cid,
    steps,
    retries: 0,
    fenceToken,
    delivery,
    send: { role: "stream", message: message(cid, steps + 1, { body: `step ${steps + 1}` }), journal: entry(steps + 1) },
    checkpoint: false,
    dispatchedTtlSeconds: 3600,
    removeRetry: false,
    instance: update(steps, fenceToken),
    abortGate: true,
    ...extra,
  });

  it("is offered on a single server, and not where the server runs in cluster mode", async () => {
    const { backend, clock } = await open();
    expect(backend.clusterMode).toBe(false);
    const clustered = new RedisBackend(backend.uri, backend.connection, context(clock), true);
    expect(clustered.transitions()).toBeUndefined();
  });

  it("begin takes the lease with the next fence above minFenceToken, and reads the flag and the controls only when it takes it", async () => {
    const ports = await open();
    const { fused, cache, journal, clock } = ports;
    // No journal record yet: the controls are undefined; not dispatched.
    const first = await fused.begin({ correlationId: "c1", steps: 1, retries: 0, leaseTimeoutSeconds: 60, minFenceToken: 0, control: { machineName: MACHINE, state: "start" } });
    expect(first).toEqual({ lease: { acquired: true, fenceToken: 1 }, dispatched: false, control: undefined });
    // Held: refused until its expiry, nothing else read.
    await cache.markDispatched("c1", 1, 3600);
    const held = await fused.begin({ correlationId: "c1", steps: 1, retries: 0, leaseTimeoutSeconds: 60, minFenceToken: 0, control: { machineName: MACHINE, state: "start" } });
    expect(held).toEqual({ lease: { acquired: false, heldUntil: clock.now() + 60_000 }, dispatched: false, control: undefined });
    // Released over the separate port, taken again fused, above the message's token; the flag the separate port set is read.
    expect(await cache.releaseLease("c1", 1, 0, 1)).toBe(true);
    await journal.createInstances([{ correlationId: "c1", machineName: MACHINE, status: "running", state: "start", userContext: {}, startedAt: clock.now(), updatedAt: clock.now() }]);
    await journal.addPause({ machineName: MACHINE, state: "start" });
    await journal.requestAbort("c1", "operator", clock.now());
    const again = await fused.begin({ correlationId: "c1", steps: 1, retries: 0, leaseTimeoutSeconds: 60, minFenceToken: 7, control: { machineName: MACHINE, state: "start" } });
    expect(again.lease).toEqual({ acquired: true, fenceToken: 8 });
    expect(again.dispatched).toBe(true);
    expect(again.control).toEqual(await journal.control("c1", MACHINE, "start"));
    expect(again.control).toMatchObject({ status: "running", steps: 0, paused: true, abort: { reason: "operator", at: clock.now() } });
    // A later step is not dispatched yet; without `control` the controls are not read.
    expect(await cache.releaseLease("c1", 1, 0, 8)).toBe(true);
    expect(await fused.begin({ correlationId: "c1", steps: 2, retries: 0, leaseTimeoutSeconds: 60, minFenceToken: 0 })).toEqual({
      lease: { acquired: true, fenceToken: 9 },
      dispatched: false,
      control: undefined,
    });
    // The separate cache goes on from the fused path's counter.
    expect(await cache.releaseLease("c1", 2, 0, 9)).toBe(true);
    expect(await cache.acquireLease("c1", 3, 0, 60)).toEqual({ acquired: true, fenceToken: 10 });
  });

  it("commit sends, journals, acks, marks, releases and updates the instance as the separate ports would", async () => {
    const ports = await open();
    const { fused, stream, cache, journal, clock } = ports;
    const delivery = await delivered(ports, "c1");
    const begun = await fused.begin({ correlationId: "c1", steps: 1, retries: 0, leaseTimeoutSeconds: 60, minFenceToken: 0 });
    expect(begun.lease).toEqual({ acquired: true, fenceToken: 1 });
    const committed = await fused.commit(commitOf("c1", 1, 1, delivery));
    expect(committed).toMatchObject({ committed: true, released: true });
    // The receipt is the stream's: the next message is its entry, and it is the only one left (the delivery is acked).
    const [next] = await stream.receive({ max: 5, visibilityTimeoutSeconds: 30 });
    expect(next).toMatchObject({ body: "step 2", receiveCount: 1 });
    expect(committed.receipt).toEqual({ stream: expect.stringMatching(/:stream\}:log$/), id: next?.id });
    expect(await stream.pending()).toBe(1);
    expect(await cache.isDispatched("c1", 1)).toBe(true);
    expect(await cache.isDispatched("c1", 2)).toBe(false);
    // Released: the separate cache takes the next step's lease with the next token.
    expect(await cache.acquireLease("c1", 2, 0, 60)).toEqual({ acquired: true, fenceToken: 2 });
    expect(await journal.history("c1")).toEqual([entry(2)]);
    expect(await journal.getInstance("c1")).toMatchObject({ status: "running", state: "next", steps: 1, userContext: { n: 1 }, fenceToken: 1, leasePrimary: true, updatedAt: clock.now() });
  });

  it("commit with the abort gate writes nothing while an abort is asked and not yet taken", async () => {
    const ports = await open();
    const { fused, stream, cache, journal, clock } = ports;
    const delivery = await delivered(ports, "c1");
    await fused.begin({ correlationId: "c1", steps: 1, retries: 0, leaseTimeoutSeconds: 60, minFenceToken: 0 });
    expect(await journal.requestAbort("c1", "operator", clock.now())).toBe(true);
    const before = await journal.getInstance("c1");
    expect(await fused.commit(commitOf("c1", 1, 1, delivery))).toEqual({ committed: false, released: false });
    // Nothing sent, nothing acked, nothing marked, the lease still held, the journal as it was.
    expect(await stream.pending()).toBe(1);
    expect(await cache.isDispatched("c1", 1)).toBe(false);
    expect(await cache.acquireLease("c1", 1, 0, 60)).toMatchObject({ acquired: false });
    expect(await journal.history("c1")).toEqual([]);
    expect(await journal.getInstance("c1")).toEqual(before);
    // Without the gate (the abort path's own commit), it commits, taking the abort's step.
    const aborting = commitOf("c1", 1, 1, delivery, { abortGate: false, instance: { ...update(1, 1), abortStep: 1 } });
    expect(await fused.commit(aborting)).toMatchObject({ committed: true, released: true });
    expect(await journal.getInstance("c1")).toMatchObject({ abort: { reason: "operator", step: 1 } });
    // Once taken, the gate lets the next step's commit through.
    const [next] = await stream.receive({ max: 1, visibilityTimeoutSeconds: 30 });
    expect(await fused.begin({ correlationId: "c1", steps: 2, retries: 0, leaseTimeoutSeconds: 60, minFenceToken: 0 })).toMatchObject({ lease: { acquired: true, fenceToken: 2 } });
    expect(await fused.commit(commitOf("c1", 2, 2, next as Delivery))).toMatchObject({ committed: true, released: true });
  });

  it("commit after the lease was taken over reports released: false, still marks dispatched and leaves the new holder's lease", async () => {
    const ports = await open();
    const { fused, cache, clock } = ports;
    const delivery = await delivered(ports, "c1");
    await fused.begin({ correlationId: "c1", steps: 1, retries: 0, leaseTimeoutSeconds: 10, minFenceToken: 0 });
    clock.advance(10_001);
    // The lease expired and another processing (over the separate port) took it.
    expect(await cache.acquireLease("c1", 1, 0, 60)).toEqual({ acquired: true, fenceToken: 2 });
    const committed = await fused.commit(commitOf("c1", 1, 1, delivery));
    expect(committed).toMatchObject({ committed: true, released: false });
    expect(await cache.isDispatched("c1", 1)).toBe(true);
    expect(await cache.acquireLease("c1", 1, 0, 60)).toMatchObject({ acquired: false });
    expect(await cache.releaseLease("c1", 1, 0, 2)).toBe(true);
  });

  it("interoperates with the separate ports: a lease taken fused is released by the cache, one taken by the cache is released fused", async () => {
    const ports = await open();
    const { fused, cache } = ports;
    const taken = await fused.begin({ correlationId: "c1", steps: 1, retries: 0, leaseTimeoutSeconds: 60, minFenceToken: 0 });
    expect(taken.lease).toEqual({ acquired: true, fenceToken: 1 });
    expect(await cache.releaseLease("c1", 1, 0, 1)).toBe(true);
    const delivery = await delivered(ports, "c1");
    expect(await cache.acquireLease("c1", 1, 0, 60)).toEqual({ acquired: true, fenceToken: 2 });
    expect(await fused.commit(commitOf("c1", 1, 2, delivery))).toMatchObject({ committed: true, released: true });
    expect(await cache.releaseLease("c1", 1, 0, 2)).toBe(false);
  });

  it("commit schedules a timer as the retry store does, removes the retry delivery's entry and the step's timer", async () => {
    const ports = await open();
    const { fused, retry, journal, clock } = ports;
    await journal.createInstances([{ correlationId: "c1", machineName: MACHINE, status: "running", state: "start", userContext: {}, startedAt: clock.now(), updatedAt: clock.now() }]);
    // The message being processed is a retry entry of step 1.
    await retry.schedule(message("c1", 1, { body: "retry of step 1" }));
    const [delivery] = await retry.receive({ max: 1, visibilityTimeoutSeconds: 30 });
    expect(delivery).toBeDefined();
    await fused.begin({ correlationId: "c1", steps: 1, retries: 0, leaseTimeoutSeconds: 60, minFenceToken: 0 });
    const timer = message("c1", 2, { body: "timer of step 2", delaySeconds: 120 });
    const committed = await fused.commit(
      commitOf("c1", 1, 1, delivery as Delivery, { send: { role: "retry", message: timer, journal: entry(2, "retry") }, removeRetry: true }),
    );
    expect(committed).toEqual({ committed: true, released: true, receipt: { retry: expect.stringMatching(/:retry\}:due$/), correlation_id: "c1", steps: 2 } });
    // The delivery's entry is gone, the timer waits its delay.
    expect(await retry.pending("c1")).toBe(1);
    expect(await retry.receive({ max: 5, visibilityTimeoutSeconds: 30 })).toEqual([]);
    clock.advance(120_000);
    expect((await retry.receive({ max: 5, visibilityTimeoutSeconds: 30 })).map((d) => d.body)).toEqual(["timer of step 2"]);
    expect(await journal.history("c1")).toEqual([entry(2, "retry")]);
  });

  it("commit sends a delayed message as the stream does, and refuses to store a checkpoint (Redis keeps none)", async () => {
    const ports = await open();
    const { fused, stream, clock } = ports;
    const delivery = await delivered(ports, "c1");
    await fused.begin({ correlationId: "c1", steps: 1, retries: 0, leaseTimeoutSeconds: 60, minFenceToken: 0 });
    await expect(fused.commit(commitOf("c1", 1, 1, delivery, { checkpoint: true }))).rejects.toThrow(/keeps no checkpoints/);
    const later = message("c1", 2, { body: "later", delaySeconds: 30 });
    const committed = await fused.commit(commitOf("c1", 1, 1, delivery, { send: { role: "stream", message: later, journal: entry(2) } }));
    expect(committed.receipt).toEqual({ delayed: expect.stringMatching(/:stream\}:delayed$/), id: expect.any(String) });
    expect(await stream.receive({ max: 5, visibilityTimeoutSeconds: 30 })).toEqual([]);
    clock.advance(30_000);
    expect((await stream.receive({ max: 5, visibilityTimeoutSeconds: 30 })).map((d) => d.body)).toEqual(["later"]);
  });

  it("commit without a journal here writes no journal keys, and without a send returns no receipt", async () => {
    const ports = await open();
    const { fused, stream, cache, journal } = ports;
    const delivery = await delivered(ports, "c1");
    const before = await journal.getInstance("c1");
    await fused.begin({ correlationId: "c1", steps: 1, retries: 0, leaseTimeoutSeconds: 60, minFenceToken: 0 });
    expect(await fused.commit(commitOf("c1", 1, 1, delivery, { send: undefined, instance: undefined, abortGate: false }))).toEqual({
      committed: true,
      released: true,
      receipt: undefined,
    });
    expect(await stream.pending()).toBe(0);
    expect(await cache.isDispatched("c1", 1)).toBe(true);
    expect(await journal.history("c1")).toEqual([]);
    expect(await journal.getInstance("c1")).toEqual(before);
  });

  const prefixOf = (uri: string) => new URL(uri).searchParams.get("prefix") as string;

  /** claimNext as the worker asks it: 30 s of visibility, a 60 s lease, the controls of state `next`. */
  const claimNext = { visibilityTimeoutSeconds: 30, leaseTimeoutSeconds: 60, control: { machineName: MACHINE, state: "next" } } as const;

  it("commit with claimNext sends the next message claimed, takes the next step's lease with fence + 1, and its delivery is the stream's to ack", async () => {
    const ports = await open();
    const { fused, stream, cache, journal, backend, clock } = ports;
    const delivery = await delivered(ports, "c1");
    await fused.begin({ correlationId: "c1", steps: 1, retries: 0, leaseTimeoutSeconds: 60, minFenceToken: 0 });
    await journal.addPause({ machineName: MACHINE, state: "next" });
    const committed = await fused.commit(commitOf("c1", 1, 1, delivery, { claimNext }));
    expect(committed).toMatchObject({ committed: true, released: true });
    const next = committed.next;
    expect(next?.delivery).toEqual({ id: expect.any(String), body: "step 2", receiveCount: 1, role: "stream", side: "primary", handle: { id: next?.delivery.id, token: expect.any(String) } });
    expect(committed.receipt).toEqual({ stream: expect.stringMatching(/:stream\}:log$/), id: next?.delivery.id });
    // What a fused begin of step 2 would have found; the controls read after this commit's journal update.
    expect(next?.begun).toEqual({ lease: { acquired: true, fenceToken: 2 }, dispatched: false, control: await journal.control("c1", MACHINE, "next") });
    expect(next?.begun.control).toMatchObject({ steps: 1, paused: true });
    // The lease of step 2 is held with fence 2 (no one else takes it); released with it, the counter goes on at 3.
    expect(await cache.acquireLease("c1", 2, 0, 60)).toEqual({ acquired: false, heldUntil: clock.now() + 60_000 });
    // Claimed: no receive, of this backend or another consumer's, hands it out while the claim lasts.
    const other = await openRedisBackend(backend.uri, context(clock));
    cleanups.push(() => other.close());
    expect(await stream.receive({ max: 5, visibilityTimeoutSeconds: 30 })).toEqual([]);
    expect(await other.stream().receive({ max: 5, visibilityTimeoutSeconds: 30 })).toEqual([]);
    expect(await stream.pending()).toBe(1);
    expect(await stream.pending("c1")).toBe(1);
    // The stream acks it like a received one; nothing is left, in the group's pending list either.
    await stream.extend(next?.delivery as Delivery, 60);
    await stream.ack(next?.delivery as Delivery);
    expect(await stream.pending()).toBe(0);
    expect(await stream.pending("c1")).toBe(0);
    const redis = new Redis(REDIS_URL);
    cleanups.push(async () => redis.disconnect());
    expect(((await redis.xpending(streamKeys(prefixOf(backend.uri))[0] as string, "switchyard")) as [number])[0]).toBe(0);
    clock.advance(60_000);
    expect(await stream.receive({ max: 5, visibilityTimeoutSeconds: 30 })).toEqual([]);
    expect(await cache.releaseLease("c1", 2, 0, 2)).toBe(true);
    expect(await cache.acquireLease("c1", 2, 0, 60)).toEqual({ acquired: true, fenceToken: 3 });
  });

  it("a message sent claimed and not acked is redelivered after its visibility timeout, and the old claim can no longer ack it", async () => {
    const ports = await open();
    const { fused, stream, clock } = ports;
    const delivery = await delivered(ports, "c1");
    await fused.begin({ correlationId: "c1", steps: 1, retries: 0, leaseTimeoutSeconds: 60, minFenceToken: 0 });
    // Another message behind it, sent unclaimed: a receive hands that one out and skips the claimed one.
    const committed = await fused.commit(commitOf("c1", 1, 1, delivery, { claimNext: { ...claimNext, control: undefined } }));
    const claimed = committed.next?.delivery as Delivery;
    expect(committed.next?.begun).toEqual({ lease: { acquired: true, fenceToken: 2 }, dispatched: false, control: undefined });
    await stream.send(message("c2", 1, { body: "other" }));
    expect((await stream.receive({ max: 5, visibilityTimeoutSeconds: 30 })).map((d) => d.body)).toEqual(["other"]);
    clock.advance(29_999);
    expect(await stream.receive({ max: 5, visibilityTimeoutSeconds: 30 })).toEqual([]);
    clock.advance(2);
    const again = await stream.receive({ max: 5, visibilityTimeoutSeconds: 30 });
    expect(again.map(({ id, body, receiveCount }) => ({ id, body, receiveCount }))).toEqual([
      { id: claimed.id, body: "step 2", receiveCount: 2 },
      expect.objectContaining({ body: "other", receiveCount: 2 }),
    ]);
    await stream.ack(claimed);
    expect(await stream.pending("c1")).toBe(1);
    await stream.ack(again[0] as Delivery);
    expect(await stream.pending("c1")).toBe(0);
  });

  it("a message sent claimed can be released and dead-lettered through the stream like a received one", async () => {
    const ports = await open();
    const { fused, stream, backend } = ports;
    const delivery = await delivered(ports, "c1");
    await fused.begin({ correlationId: "c1", steps: 1, retries: 0, leaseTimeoutSeconds: 60, minFenceToken: 0 });
    const claimed = (await fused.commit(commitOf("c1", 1, 1, delivery, { claimNext }))).next?.delivery as Delivery;
    await stream.release(claimed, 0);
    const [again] = await stream.receive({ max: 5, visibilityTimeoutSeconds: 30 });
    expect(again).toMatchObject({ id: claimed.id, body: "step 2", receiveCount: 2 });
    await stream.deadLetter(again as Delivery, "poison");
    expect(await stream.pending()).toBe(0);
    expect(await backend.deadLetters.list()).toMatchObject([{ messageId: claimed.id, reason: "poison", receiveCount: 2 }]);
  });

  it("commit with claimNext after the lease was taken over sends the message unclaimed and returns no next", async () => {
    const ports = await open();
    const { fused, stream, cache, clock } = ports;
    const delivery = await delivered(ports, "c1");
    await fused.begin({ correlationId: "c1", steps: 1, retries: 0, leaseTimeoutSeconds: 10, minFenceToken: 0 });
    clock.advance(10_001);
    expect(await cache.acquireLease("c1", 1, 0, 60)).toEqual({ acquired: true, fenceToken: 2 });
    const committed = await fused.commit(commitOf("c1", 1, 1, delivery, { claimNext }));
    expect(committed).toMatchObject({ committed: true, released: false });
    expect(committed.next).toBeUndefined();
    // The new holder's lease is untouched, and the message is anyone's to receive, once.
    expect(await cache.acquireLease("c1", 1, 0, 60)).toMatchObject({ acquired: false });
    expect(await cache.releaseLease("c1", 1, 0, 2)).toBe(true);
    const [next] = await stream.receive({ max: 5, visibilityTimeoutSeconds: 30 });
    expect(next).toMatchObject({ id: (committed.receipt as { id: string }).id, body: "step 2", receiveCount: 1 });
  });

  it("commit with claimNext sends a delayed message unclaimed", async () => {
    const ports = await open();
    const { fused, stream, cache } = ports;
    const delivery = await delivered(ports, "c1");
    await fused.begin({ correlationId: "c1", steps: 1, retries: 0, leaseTimeoutSeconds: 60, minFenceToken: 0 });
    const later = message("c1", 2, { body: "later", delaySeconds: 30 });
    const committed = await fused.commit(commitOf("c1", 1, 1, delivery, { claimNext, send: { role: "stream", message: later, journal: entry(2) } }));
    expect(committed).toMatchObject({ committed: true, released: true });
    expect(committed.next).toBeUndefined();
    expect(await stream.pending()).toBe(1);
    expect(await cache.acquireLease("c1", 2, 0, 60)).toEqual({ acquired: true, fenceToken: 2 });
  });
});
