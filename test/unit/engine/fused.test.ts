/**
 * The fused transition path (TransitionPort): where the settings bind it, and that a transition
 * takes it (two calls, nothing over the separate ports) or, when a fused call fails, finishes
 * over the separate ports with the same trace. Real SQLite files.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterEach, describe, expect, it, vi } from "vitest";
import type { MessageSource } from "../../../src/ports.js";
import type { SettingsConfig } from "../../../src/settings/settings.js";
import { ProtocolHarness } from "../../support/protocol-harness.js";

let dir: string | undefined;
let harness: ProtocolHarness | undefined;

afterEach(async () => {
  await harness?.close();
  harness = undefined;
  if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
  dir = undefined;
});

async function open(settings: (dir: string) => SettingsConfig): Promise<ProtocolHarness> {
  dir = mkdtempSync(path.join(tmpdir(), "switchyard-fused-"));
  harness = await ProtocolHarness.open({ name: "sqlite", settings }, dir);
  return harness;
}

const oneFile = (extra: Partial<SettingsConfig> = {}) => (d: string): SettingsConfig => {
  const uri = `sqlite:${d}/a.db`;
  return { stream: uri, retry: uri, cache: uri, checkpoint: uri, metrics: uri, journal: uri, ...extra };
};

const SIMPLE_TRACE = [
  ["pseudo_init", "pseudo_init", 0, 0, "stream", "primary"],
  ["start", "go", 1, 0, "stream", "primary"],
  ["middle", "go", 2, 0, "stream", "primary"],
];

describe("where the settings bind the fused path", () => {
  it("every role on one file: bound, covering the checkpoint and the journal", async () => {
    const h = await open(oneFile());
    expect(h.sy.engine.roles.fused).toMatchObject({ checkpoint: true, journal: true });
  });

  it("fused_transitions: false turns it off", async () => {
    const h = await open(oneFile({ fused_transitions: false }));
    expect(h.sy.engine.roles.fused).toBeUndefined();
  });

  it("chaos on a covered role side turns it off; on the checkpoint, the checkpoint goes over its port", async () => {
    const h = await open(oneFile({ chaos: { "cache.primary": 0.5 } }));
    expect(h.sy.engine.roles.fused).toBeUndefined();
    await h.close();
    const c = await open(oneFile({ chaos: { "checkpoint.primary": 0.5 } }));
    expect(c.sy.engine.roles.fused).toMatchObject({ checkpoint: false, journal: true });
  });

  it("a journal or checkpoint in another file is written over its port", async () => {
    const h = await open(oneFile({ journal: "sqlite:./journal.db", checkpoint: "sqlite:./journal.db" }));
    expect(h.sy.engine.roles.fused).toMatchObject({ checkpoint: false, journal: false });
  });

  it("a stream in another file than the cache: not bound", async () => {
    const h = await open(oneFile({ cache: "sqlite:./cache.db" }));
    expect(h.sy.engine.roles.fused).toBeUndefined();
  });

  it("a settings value other than a boolean is refused with its name", async () => {
    await expect(open(oneFile({ fused_transitions: "yes" as unknown as boolean }))).rejects.toThrow(/fused_transitions must be true or false/);
  });
});

describe("a transition on the fused path", () => {
  it("with next messages claimed, as a worker runs: one begin for the instance, then one commit per step", async () => {
    const h = await open(oneFile());
    h.claimNext = true;
    const fused = h.sy.engine.roles.fused?.port as NonNullable<typeof h.sy.engine.roles.fused>["port"];
    const { correlationId } = await h.sy.start("simple", { context: {} });
    const begin = vi.spyOn(fused, "begin");
    const commit = vi.spyOn(fused, "commit");
    const receive = vi.spyOn(h.sy.sources.find((s) => s.role === "stream" && s.side === "primary") as MessageSource, "receive");
    await h.drain();
    expect(await h.trace(correlationId)).toEqual(SIMPLE_TRACE);
    expect([begin.mock.calls.length, commit.mock.calls.length]).toEqual([1, 3]);
    // One receive found the first message; the claimed ones needed none (then one finds nothing).
    expect(receive.mock.calls.length).toBe(2);
    expect(await h.sy.status(correlationId)).toMatchObject({ status: "completed", state: "end", userContext: { count: 2 } });
    expect(await h.sy.pending()).toBe(0);
  });

  it("is one begin and one commit, with nothing sent or leased over the separate ports", async () => {
    const h = await open(oneFile());
    const fused = h.sy.engine.roles.fused?.port;
    expect(fused).toBeDefined();
    const { correlationId } = await h.sy.start("simple", { context: {} });
    const begin = vi.spyOn(fused as NonNullable<typeof fused>, "begin");
    const commit = vi.spyOn(fused as NonNullable<typeof fused>, "commit");
    const send = vi.spyOn(h.sy.engine.roles.stream.primary, "send");
    const lease = vi.spyOn(h.sy.engine.roles.cache.primary, "acquireLease");
    await h.drain();
    expect(await h.trace(correlationId)).toEqual(SIMPLE_TRACE);
    expect([begin.mock.calls.length, commit.mock.calls.length]).toEqual([3, 3]);
    expect(h.claimNext).toBe(false);
    expect([send.mock.calls.length, lease.mock.calls.length]).toEqual([0, 0]);
    expect(await h.sy.status(correlationId)).toMatchObject({ status: "completed", state: "end", userContext: { count: 2 } });
    // The checkpoint is the last sent message's receipt, as over the separate ports.
    expect(await h.sy.engine.roles.checkpoint?.primary.get(correlationId)).toMatchObject({
      steps: 2,
      receipt: { table: "stream_messages", role: "stream", side: "primary" },
    });
    expect(await h.sy.pending()).toBe(0);
  });

  it("a commit that fails is written over the separate ports instead: same trace, no error counted", async () => {
    const h = await open(oneFile());
    const fused = h.sy.engine.roles.fused?.port as NonNullable<typeof h.sy.engine.roles.fused>["port"];
    vi.spyOn(fused, "commit").mockRejectedValueOnce(new Error("injected commit failure"));
    const { correlationId } = await h.sy.start("simple", { context: {} });
    const send = vi.spyOn(h.sy.engine.roles.stream.primary, "send");
    await h.drain();
    expect(await h.trace(correlationId)).toEqual(SIMPLE_TRACE);
    expect(await h.errors(correlationId)).toEqual([]);
    expect(send).toHaveBeenCalledTimes(1);
    expect(await h.sy.status(correlationId)).toMatchObject({ status: "completed", userContext: { count: 2 } });
    expect(await h.sy.pending()).toBe(0);
  });

  it("a begin that fails takes the lease over the cache port instead", async () => {
    const h = await open(oneFile());
    const fused = h.sy.engine.roles.fused?.port as NonNullable<typeof h.sy.engine.roles.fused>["port"];
    vi.spyOn(fused, "begin").mockRejectedValueOnce(new Error("injected begin failure"));
    const lease = vi.spyOn(h.sy.engine.roles.cache.primary, "acquireLease");
    const { correlationId } = await h.sy.start("simple", { context: {} });
    await h.drain();
    expect(await h.trace(correlationId)).toEqual(SIMPLE_TRACE);
    expect(await h.errors(correlationId)).toEqual([]);
    expect(lease).toHaveBeenCalledTimes(1);
    expect(await h.sy.status(correlationId)).toMatchObject({ status: "completed", userContext: { count: 2 } });
  });

  it("an abort asked while the actions ran closes the commit's gate: nothing of the step is written, the abort runs", async () => {
    const h = await open(oneFile());
    const fused = h.sy.engine.roles.fused?.port as NonNullable<typeof h.sy.engine.roles.fused>["port"];
    const { correlationId } = await h.sy.start("simple", { context: {} });
    const commit = vi.spyOn(fused, "commit");
    // The abort lands between the actions and the commit.
    const original = commit.getMockImplementation() ?? fused.commit.bind(fused);
    commit.mockImplementationOnce(async (request) => {
      await h.sy.abort(correlationId, { reason: "operator" });
      return original(request);
    });
    await h.drain();
    await expect(commit.mock.results[0]?.value).resolves.toMatchObject({ committed: false });
    expect(await h.sy.status(correlationId)).toMatchObject({ status: "aborted", reason: "operator" });
    expect(await h.trace(correlationId)).toEqual([SIMPLE_TRACE[0]]);
    expect(await h.sy.pending()).toBe(0);
  });

  it("an abort asked while the actions ran, then a commit that fails: the separate ports take the abort path", async () => {
    const h = await open(oneFile());
    const fused = h.sy.engine.roles.fused?.port as NonNullable<typeof h.sy.engine.roles.fused>["port"];
    const { correlationId } = await h.sy.start("simple", { context: {} });
    vi.spyOn(fused, "commit").mockImplementationOnce(async () => {
      await h.sy.abort(correlationId, { reason: "operator" });
      throw new Error("injected commit failure");
    });
    await h.drain();
    expect(await h.sy.status(correlationId)).toMatchObject({ status: "aborted", reason: "operator" });
    expect(await h.trace(correlationId)).toEqual([SIMPLE_TRACE[0]]);
    expect(await h.sy.pending()).toBe(0);
  });
});
