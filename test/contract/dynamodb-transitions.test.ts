/**
 * The DynamoDB cache's fused path around other roles' ports (`DynamoTransitions`) against dynalite,
 * each test on its own table family: the flag comes back with the lease, the mark and the release
 * are one write (two only when the lease was lost), the gate sends nothing when an abort is
 * pending, a failure before the send throws with nothing written, and a failure after it is
 * reported, not thrown. The protocol suite on this path is in protocol-aws.test.ts.
 */
import { randomBytes } from "node:crypto";
import { afterAll, afterEach, describe, expect, it } from "vitest";
import { type DynamoDbBackend, openDynamoDbBackend } from "../../src/backends/aws/dynamodb/backend.js";
import type { DynamoTransitions } from "../../src/backends/aws/dynamodb/transitions.js";
import type { FusedPorts } from "../../src/backends/backend.js";
import { silentLogger } from "../../src/logger.js";
import type { Delivery, InstanceUpdate, JournalMessage, TransitionCommit } from "../../src/ports.js";
import { TestClock } from "../support/clock.js";
import { startDynalite } from "../support/dynalite.js";
import { message } from "./port-factory.js";

const server = startDynalite();
afterAll(async () => (await server).close());

const MACHINE = "orders";
const LEASE_SECONDS = 300;

/** The journal entry of a sent message, as the engine writes it. */
const entry = (steps: number): JournalMessage => ({
  current_state: "next",
  current_event: "go",
  steps,
  retries: 0,
  user_context: { n: steps },
  role: "stream",
  side: "primary",
});

/** The journal's instance update after processing step `steps`. */
const update = (steps: number, fenceToken: number): InstanceUpdate => ({
  machineName: MACHINE,
  status: "running",
  state: "next",
  userContext: { n: steps },
  steps,
  leasePrimary: true,
  fenceToken,
});

/** A delivery of step `steps` (the fused path leaves its ack to its source). */
const delivery = (steps: number): Delivery => ({ id: `d${steps}`, body: "{}", receiveCount: 1, role: "stream", side: "primary", handle: undefined });

describe("dynamodb fused transitions around other ports", () => {
  const opened: DynamoDbBackend[] = [];
  afterEach(async () => {
    for (const backend of opened.splice(0)) await backend.close();
  });

  /** A backend on a fresh table family (provisioned unless told otherwise). */
  const family = async (clock: TestClock, provision = true) => {
    const backend = await openDynamoDbBackend(`arn:aws:dynamodb:us-east-1:123456789012:table/ft-${randomBytes(5).toString("hex")}`, {
      clock,
      baseDir: process.cwd(),
      endpoints: { dynamodb: (await server).endpoint },
      logger: silentLogger,
    });
    opened.push(backend);
    if (provision) await backend.provision();
    return backend;
  };

  /** The fused port of a fresh family over its own stream, retry store, checkpoint and journal (or `ports` instead). */
  const open = async (ports: Partial<FusedPorts> = {}) => {
    const clock = new TestClock();
    const backend = await family(clock);
    const journal = backend.journal();
    const fused: DynamoTransitions = backend.transitionsOver({
      stream: backend.stream(),
      retry: backend.retry(),
      checkpoint: backend.checkpoint(),
      journal,
      ...ports,
    });
    await journal.createInstances([{ correlationId: "c1", machineName: MACHINE, status: "running", state: "start", userContext: {}, startedAt: clock.now(), updatedAt: clock.now() }]);
    return { clock, backend, journal, fused };
  };

  /** Take step `steps`'s lease with its controls, expecting to get it. */
  const begin = async (fused: DynamoTransitions, steps: number) => {
    const begun = await fused.begin({ correlationId: "c1", steps, retries: 0, leaseTimeoutSeconds: LEASE_SECONDS, minFenceToken: 0, control: { machineName: MACHINE, state: "start" } });
    if (!begun.lease.acquired) throw new Error(`the lease of step ${steps} was not taken`);
    return { begun, fenceToken: begun.lease.fenceToken };
  };

  /** The commit of step `steps` sending step `steps + 1` to the stream. */
  const commitOf = (steps: number, fenceToken: number, abortGate = false): TransitionCommit => ({
    correlationId: "c1",
    steps,
    retries: 0,
    fenceToken,
    delivery: delivery(steps),
    send: { role: "stream", message: message("c1", steps + 1), journal: entry(steps + 1) },
    checkpoint: true,
    dispatchedTtlSeconds: 86_400,
    removeRetry: false,
    instance: update(steps, fenceToken),
    abortGate,
  });

  it("begin takes the lease and reads the flag with it, and the controls from the journal", async () => {
    const { backend, fused } = await open();
    const first = await begin(fused, 1);
    expect(first.begun).toEqual({ lease: { acquired: true, fenceToken: 1 }, dispatched: false, control: { status: "running", steps: 0, paused: false } });
    // Held: refused, with until when.
    const held = await fused.begin({ correlationId: "c1", steps: 1, retries: 0, leaseTimeoutSeconds: LEASE_SECONDS, minFenceToken: 0 });
    expect(held).toMatchObject({ lease: { acquired: false, heldUntil: expect.any(Number) }, dispatched: false, control: undefined });
    await backend.cache().markDispatched("c1", 3, 60);
    await backend.cache().releaseLease("c1", 1, 0, first.fenceToken);
    // Step 3 is marked (and so every step below it); step 4 is not.
    expect((await begin(fused, 3)).begun.dispatched).toBe(true);
    await backend.cache().releaseLease("c1", 3, 0, 2);
    expect((await begin(fused, 4)).begun).toMatchObject({ lease: { acquired: true, fenceToken: 3 }, dispatched: false });
  });

  it("begin with a journal that cannot be read takes the lease all the same and leaves the controls to the engine", async () => {
    const missing = await family(new TestClock(), false);
    const { fused } = await open({ journal: missing.journal() });
    const begun = await fused.begin({ correlationId: "c1", steps: 1, retries: 0, leaseTimeoutSeconds: LEASE_SECONDS, minFenceToken: 0, control: { machineName: MACHINE, state: "start" } });
    expect(begun).toEqual({ lease: { acquired: true, fenceToken: 1 }, dispatched: false, control: undefined });
  });

  it("commit sends, journals, stores the checkpoint, then marks and releases: the items the separate ports read", async () => {
    const { backend, journal, fused } = await open();
    const { fenceToken } = await begin(fused, 1);
    const committed = await fused.commit(commitOf(1, fenceToken));
    expect(committed).toEqual({ committed: true, receipt: expect.any(Object), released: true, unacknowledged: true });
    const [sent] = await backend.stream().receive({ max: 10, visibilityTimeoutSeconds: 30 });
    expect(JSON.parse(sent.body)).toEqual({ correlationId: "c1", steps: 2 });
    expect(await backend.checkpoint().get("c1")).toMatchObject({ steps: 2, receipt: { ...committed.receipt, role: "stream", side: "primary" } });
    expect(await backend.cache().isDispatched("c1", 1)).toBe(true);
    expect(await journal.getInstance("c1")).toMatchObject({ status: "running", state: "next", steps: 1, fenceToken });
    expect((await journal.history("c1")).map((m) => m.steps)).toEqual([2]);
    // Released: the next step's lease is free at once.
    expect(await backend.cache().acquireLease("c1", 2, 0, LEASE_SECONDS)).toEqual({ acquired: true, fenceToken: fenceToken + 1 });
  });

  it("a lease lost meanwhile: the mark is set all the same, the new holder's lease is left alone", async () => {
    const { clock, backend, fused } = await open();
    const { fenceToken } = await begin(fused, 1);
    clock.advance((LEASE_SECONDS + 1) * 1000);
    const taken = await backend.cache().acquireLease("c1", 1, 1, LEASE_SECONDS);
    expect(taken).toEqual({ acquired: true, fenceToken: fenceToken + 1 });
    expect(await fused.commit(commitOf(1, fenceToken))).toMatchObject({ committed: true, released: false });
    expect(await backend.cache().isDispatched("c1", 1)).toBe(true);
    expect(await backend.cache().acquireLease("c1", 1, 2, LEASE_SECONDS)).toMatchObject({ acquired: false });
    expect(await backend.cache().releaseLease("c1", 1, 1, fenceToken + 1)).toBe(true);
  });

  it("a later step marked already: the mark is not lowered, and the lease is released", async () => {
    const { backend, fused } = await open();
    const { fenceToken } = await begin(fused, 1);
    await backend.cache().markDispatched("c1", 5, 60);
    expect(await fused.commit(commitOf(1, fenceToken))).toMatchObject({ committed: true, released: true });
    expect(await backend.cache().isDispatched("c1", 5)).toBe(true);
  });

  it("the gate: an abort asked while the actions ran writes nothing and sends nothing; an abort taken does not close it", async () => {
    const { clock, backend, journal, fused } = await open();
    const { fenceToken } = await begin(fused, 1);
    expect(await journal.requestAbort("c1", "customer cancelled", clock.now())).toBe(true);
    expect(await fused.commit(commitOf(1, fenceToken, true))).toEqual({ committed: false, released: false });
    expect(await backend.stream().receive({ max: 10, visibilityTimeoutSeconds: 30 })).toEqual([]);
    expect(await backend.cache().isDispatched("c1", 1)).toBe(false);
    expect(await backend.checkpoint().get("c1")).toBeUndefined();
    expect(await journal.history("c1")).toEqual([]);
    // The abort path's commit records the abort as taken (its step): the gate lets it through.
    const aborting = { ...commitOf(1, fenceToken, false), send: undefined, checkpoint: false, instance: { ...update(1, fenceToken), status: "aborted" as const, abortStep: 1 } };
    expect(await fused.commit(aborting)).toMatchObject({ committed: true, released: true });
    expect(await journal.abortPending("c1")).toBe(false);
  });

  it("a send that fails throws with nothing written, so the separate ports can do it all", async () => {
    const clock = new TestClock();
    const missing = await family(clock, false);
    const { backend, fused } = await open({ stream: missing.stream() });
    const { fenceToken } = await begin(fused, 1);
    await expect(fused.commit(commitOf(1, fenceToken))).rejects.toThrow(/does not exist; run switchyard resources create/);
    expect(await backend.cache().isDispatched("c1", 1)).toBe(false);
    expect(await backend.checkpoint().get("c1")).toBeUndefined();
    expect(await backend.cache().acquireLease("c1", 1, 1, LEASE_SECONDS)).toMatchObject({ acquired: false });
  });

  it("a write that fails after the send is reported, not thrown: the rest is written and the lease released", async () => {
    const clock = new TestClock();
    const missing = await family(clock, false);
    const { backend, journal, fused } = await open({ checkpoint: missing.checkpoint() });
    const { fenceToken } = await begin(fused, 1);
    const committed = await fused.commit(commitOf(1, fenceToken));
    expect(committed).toMatchObject({ committed: true, released: true, unacknowledged: true });
    expect(committed.failures?.map((f) => [f.write, f.error.message])).toEqual([["checkpoint", expect.stringMatching(/checkpoint does not exist/)]]);
    expect(await backend.stream().receive({ max: 10, visibilityTimeoutSeconds: 30 })).toHaveLength(1);
    expect(await backend.cache().isDispatched("c1", 1)).toBe(true);
    expect(await journal.getInstance("c1")).toMatchObject({ steps: 1 });
  });
});
