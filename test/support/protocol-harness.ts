/**
 * Drives instances through the real engine, settings, chaos and backends, one message at a time in
 * a fixed source order, with a test clock: the same inputs always give the same trace.
 */
import path from "node:path";
import { fileURLToPath } from "node:url";
import { Switchyard } from "../../src/client/switchyard.js";
import type { ProcessOutcome } from "../../src/engine/engine.js";
import { type Logger, silentLogger } from "../../src/logger.js";
import type { ClaimedNext, Delivery, JournalErrors, JournalMessage, MessageSource } from "../../src/ports.js";
import type { SettingsConfig } from "../../src/settings/settings.js";
import { TestClock } from "./clock.js";

export const PROTOCOL_FSM = path.join(path.dirname(fileURLToPath(import.meta.url)), "../fixtures/protocol/fsm.yaml");

/** A backend configuration under test: settings for every role, given a scratch directory. */
export interface ProtocolBackend {
  readonly name: string;
  /** Settings with two distinct stores per role (primary and secondary). */
  settings(dir: string): SettingsConfig;
  /**
   * Create what the settings name before the test opens them (queues, streams, tables), as
   * `switchyard resources create` would. Backends that create their storage on open leave it out.
   */
  prepare?(settings: SettingsConfig, dir: string): Promise<void>;
  /** Process as a worker does: each fused commit claims the instance's next message for this processor. */
  readonly claimNext?: boolean | undefined;
  /** Where the engine logs (silent by default), e.g. to fail a run on a warning it must not give. */
  readonly logger?: Logger | undefined;
}

/** A compact message: [state, event, steps, retries, role, side]. */
export type TraceEntry = [string, string, number, number, "stream" | "retry", "primary" | "secondary"];

export class ProtocolHarness {
  readonly sy: Switchyard;
  readonly clock: TestClock;
  readonly outcomes: ProcessOutcome[] = [];
  /**
   * Ask fused commits to claim each instance's next message for this processor, as a worker does
   * (the backend's `claimNext`); a scenario where another processor takes the next step's lease
   * between two steps turns it off.
   */
  claimNext: boolean;
  #claimed: ClaimedNext | undefined;

  private constructor(sy: Switchyard, clock: TestClock, claimNext: boolean) {
    this.sy = sy;
    this.clock = clock;
    this.claimNext = claimNext;
  }

  static async open(backend: ProtocolBackend, dir: string, extra: Partial<SettingsConfig> = {}): Promise<ProtocolHarness> {
    const clock = new TestClock(Date.UTC(2026, 0, 1));
    const config = { ...backend.settings(dir), ...extra };
    await backend.prepare?.(config, dir);
    const settings = Switchyard.settings(config, dir);
    let seed = 1;
    // Deterministic "randomness": chaos rates are 0 or 1 in these scenarios, jitter stays in range.
    const random = () => {
      seed = (seed * 16807) % 2147483647;
      return (seed - 1) / 2147483646;
    };
    const sy = await Switchyard.open({ definitions: PROTOCOL_FSM, settings, clock, random, logger: backend.logger ?? silentLogger });
    return new ProtocolHarness(sy, clock, backend.claimNext === true);
  }

  /** Sources in a fixed order: stream primary, stream secondary, retry primary, retry secondary. */
  get #sources(): MessageSource[] {
    const order = (s: MessageSource) => (s.role === "stream" ? 0 : 2) + (s.side === "primary" ? 0 : 1);
    return [...this.sy.sources].sort((a, b) => order(a) - order(b));
  }

  /**
   * Process the next due message, if any; returns whether one was processed. `role` takes it from
   * that role's sources only (to pin which of two competing messages runs first).
   */
  async step(role?: "stream" | "retry"): Promise<boolean> {
    // A message the last commit claimed for this processor comes first, as a worker runs it.
    const claimed = this.#claimed;
    if (claimed !== undefined && role !== "retry") {
      this.#claimed = undefined;
      const source = this.#sources.find((s) => s.role === "stream" && s.side === "primary") as MessageSource;
      return this.#process(source, claimed.delivery, claimed);
    }
    for (const source of this.#sources) {
      if (role !== undefined && source.role !== role) continue;
      const [delivery] = await source.receive({ max: 1, visibilityTimeoutSeconds: 30 });
      if (delivery === undefined) continue;
      return this.#process(source, delivery, undefined);
    }
    return false;
  }

  /** Process one delivery as the worker does, record its outcome, and ack or dead-letter it. */
  async #process(source: MessageSource, delivery: Delivery, claimed: ClaimedNext | undefined): Promise<boolean> {
    const outcome = await this.sy.engine.process(delivery, { claimed, claimNextSeconds: this.claimNext ? 30 : undefined });
    if ("reason" in outcome) {
      this.outcomes.push(outcome);
      await source.deadLetter(delivery, outcome.reason);
      return true;
    }
    this.#claimed = outcome.next;
    // What became of the message, whichever path acknowledged it (the fused commit or this ack).
    const { acknowledged, next: _, ...recorded } = outcome;
    this.outcomes.push(recorded);
    if (acknowledged !== true) await source.ack(delivery);
    return true;
  }

  /** Process every message due now, without moving the clock (a timer far ahead stays pending). */
  async runDue(limit = 200): Promise<void> {
    let processed = 0;
    while (await this.step()) {
      if (++processed >= limit) throw new Error(`runDue: still busy after ${limit} messages`);
    }
  }

  /** Process until nothing is pending, moving the clock past backoffs when nothing is due. */
  async drain(limit = 200): Promise<void> {
    for (let i = 0; i < limit; i++) {
      if (await this.step()) continue;
      if ((await this.sy.pending()) === 0) return;
      this.clock.advance(61_000);
    }
    throw new Error(`drain: still busy after ${limit} rounds`);
  }

  async trace(correlationId: string): Promise<TraceEntry[]> {
    return (await this.sy.history(correlationId)).map(compact);
  }

  async errors(correlationId: string): Promise<JournalErrors[]> {
    return this.sy.errors(correlationId);
  }

  /** Close; a message claimed for this processor and not yet run is handed back, with its lease. */
  async close(): Promise<void> {
    const claimed = this.#claimed;
    this.#claimed = undefined;
    if (claimed !== undefined) {
      await this.sy.engine.process(claimed.delivery, { claimed, signal: AbortSignal.abort() });
      const source = this.#sources.find((s) => s.role === "stream" && s.side === "primary") as MessageSource;
      await source.release(claimed.delivery, 0);
    }
    return this.sy.close();
  }
}

export function compact(m: JournalMessage): TraceEntry {
  return [m.current_state, m.current_event, m.steps, m.retries, m.role, m.side];
}
