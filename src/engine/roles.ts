/**
 * The role bindings the engine runs on, and the failover helpers every protocol step shares.
 */
import type { ErrorTally } from "../core/counters.js";
import type { WireMessage } from "../core/message.js";
import type { Logger } from "../logger.js";
import { messageLogFields } from "./log-fields.js";
import type {
  CachePort,
  CheckpointPort,
  EnvironmentPort,
  JournalPort,
  MetricsPort,
  OutgoingMessage,
  Receipt,
  RetryPort,
  Side,
  Sided,
  StreamPort,
  TransitionPort,
} from "../ports.js";

/** The backends of each role (SPEC §4), as the engine sees them (chaos already applied). */
export interface RoleBindings {
  readonly stream: Sided<StreamPort>;
  readonly retry: Sided<RetryPort>;
  readonly cache: Sided<CachePort>;
  readonly checkpoint?: Sided<CheckpointPort> | undefined;
  readonly metrics?: Sided<MetricsPort> | undefined;
  readonly environment?: Sided<EnvironmentPort> | undefined;
  /** Instance status and history; not a protocol role. */
  readonly journal?: JournalPort | undefined;
  /**
   * The fused transition path, bound only where the primaries of stream, retry and cache are one
   * backend that offers it and none of them has chaos (see {@link TransitionPort}).
   */
  readonly fused?: FusedBinding | undefined;
}

/** The fused transition path and what of a transition it covers beside the stream, retry and cache primaries. */
export interface FusedBinding {
  readonly port: TransitionPort;
  /** The checkpoint role's primary is the same backend (without chaos): the commit stores the checkpoint. */
  readonly checkpoint: boolean;
  /** The journal is the same backend: begin reads the controls and commit writes the journal. */
  readonly journal: boolean;
}

const NO_SIDES: ReadonlyArray<readonly [Side, never]> = [];
/** The sides of each binding, built once: every processing walks them several times. */
const sidesByPair = new WeakMap<Sided<unknown>, ReadonlyArray<readonly [Side, unknown]>>();

/** The sides of a role that are configured, primary first (bindings are fixed once made). */
export function sidesOf<T>(pair: Sided<T> | undefined): ReadonlyArray<readonly [Side, T]> {
  if (pair === undefined) return NO_SIDES;
  let sides = sidesByPair.get(pair) as ReadonlyArray<readonly [Side, T]> | undefined;
  if (sides === undefined) {
    sides = pair.secondary === undefined ? [["primary", pair.primary]] : [["primary", pair.primary], ["secondary", pair.secondary]];
    sidesByPair.set(pair, sides);
  }
  return sides;
}

/** Where a message went. */
export interface SentMessage {
  readonly role: "stream" | "retry";
  readonly side: Side;
  readonly receipt: Receipt;
}

/**
 * Send `message` to the first side of `role` that accepts it, recording an `error` for each side
 * that fails. Returns undefined when every side failed (or none is configured). `skipPrimary` starts at
 * the secondary (the primary was already tried, e.g. in a batch); `wire`, the message decoded, gives
 * the warning of a failed side its fields (log-fields.ts), built only then.
 */
export async function sendToRole(
  roles: RoleBindings,
  role: "stream" | "retry",
  message: OutgoingMessage,
  errors: ErrorTally,
  logger: Logger,
  { skipPrimary = false, wire }: { readonly skipPrimary?: boolean; readonly wire?: WireMessage | undefined } = {},
): Promise<SentMessage | undefined> {
  const ports: ReadonlyArray<readonly [Side, StreamPort | RetryPort]> = role === "stream" ? sidesOf(roles.stream) : sidesOf(roles.retry);
  for (const [side, port] of ports) {
    if (skipPrimary && side === "primary") continue;
    try {
      const receipt = role === "stream" ? await (port as StreamPort).send(message) : await (port as RetryPort).schedule(message);
      return { role, side, receipt };
    } catch (error) {
      errors.record("error");
      logger.warn(`could not send to ${role}.${side} (${port.uri}): ${(error as Error).message}`, {
        ...(wire === undefined ? { correlationId: message.correlationId, steps: message.steps, retries: message.retries } : messageLogFields(wire, logger)),
        role,
        side,
      });
    }
  }
  return undefined;
}
