/**
 * The wire format (SPEC §3): one serialized instance at one step. Key names are the seed system's,
 * so messages stay readable by it and by any tool built for it.
 */
import { MalformedMessageError } from "../errors.js";
import { describeRange, MAX_TIMER_SECONDS, type NumberRange, rangeProblem } from "./ranges.js";

/** The only wire version written today; readers accept it and reject anything else. */
export const WIRE_VERSION = "0.1";

/** The two pseudo-states every machine has. */
export const PSEUDO_INIT = "pseudo_init";
export const PSEUDO_FINAL = "pseudo_final";
/**
 * The event of a timer transition (`after: 48h`): the state's `transitions` map holds the timer
 * under it, and the timer's message carries it as `current_event`, so history shows it.
 */
export const TIMER_EVENT = "pseudo_timer";
/** The event of an operator's abort, which leads into the machine's `on_abort` state. */
export const ABORT_EVENT = "pseudo_abort";
/** The event of a migration's history entry (SPEC §10): the instance moved to another version of its machine. */
export const MIGRATE_EVENT = "pseudo_migrate";
/** Event names starting with this belong to Switchyard (the pseudo-events); a definition may not use them. */
export const RESERVED_PREFIX = "pseudo_";

/** Default `lease_timeout`, in seconds. */
export const DEFAULT_LEASE_TIMEOUT_SECONDS = 300;
/** Default `max_retries` of a machine. */
export const DEFAULT_MAX_RETRIES = 5;

/** A JSON value as it travels in a message. */
export type JsonValue = string | number | boolean | null | JsonValue[] | { [key: string]: JsonValue };
/** The user context: a JSON object that actions read and write. */
export type UserContext = Record<string, unknown>;

/** Framework fields of an instance (the seed's keys). Unknown keys are carried through untouched. */
export interface SystemContext {
  machine_name: string;
  current_state: string;
  current_event: string;
  correlation_id: string;
  steps: number;
  retries: number;
  max_retries: number;
  /** Seconds since the epoch (float) when the instance was started. */
  started_at: number;
  lease_primary: boolean;
  /** Default delay, in seconds, before each next message of this instance. */
  additional_delay_seconds: number;
  lease_timeout: number;
  /**
   * The highest fence token this instance has been given so far (Switchyard's key; the seed
   * carries it through unread). A cache hands out a token above both its own counter and this one,
   * so tokens keep growing when the lease moves to the other cache (SPEC §3 failover).
   */
  fence_token?: number | undefined;
  /**
   * The version of its machine the instance is pinned to (SPEC §10; Switchyard's key): the
   * definition's content hash. Absent in the seed's messages, which run on the current definition.
   */
  machine_version?: string | undefined;
  [key: string]: unknown;
}

/** One message: `{version, system_context, user_context}`. */
export interface WireMessage {
  version: string;
  system_context: SystemContext;
  user_context: UserContext;
}

/**
 * Serialize a message. Throws a TypeError for contexts JSON cannot represent (cycles, BigInt); the
 * engine treats that as an action error, so it is retried rather than crashing the worker.
 */
export function encodeMessage(message: WireMessage): string {
  return JSON.stringify(message);
}

const REQUIRED_STRINGS = ["machine_name", "current_state", "current_event", "correlation_id"] as const;

/**
 * The largest `steps` or `retries` a message may carry: the next message's count (one more) must
 * still fit the narrowest column that stores it (a signed 32-bit integer in PostgreSQL).
 */
export const MAX_COUNT = 2 ** 31 - 2;
/** The longest delay a message may ask for (`additional_delay_seconds`): one year. */
export const MAX_DELAY_SECONDS = 365 * 24 * 3600;
/** The longest lease (`lease_timeout`): what a timer can wait. */
export const MAX_LEASE_TIMEOUT_SECONDS = MAX_TIMER_SECONDS;
/** The latest `started_at` (seconds since the epoch) a JavaScript date can hold. */
const MAX_EPOCH_SECONDS = 8.64e12;

/**
 * The numbers of the system context with the range every backend can store and every timer can
 * wait; a message outside them is malformed rather than retried or redelivered forever.
 */
const NUMBER_RANGES: Record<string, NumberRange & { readonly required: boolean }> = {
  steps: { min: 0, max: MAX_COUNT, whole: true, required: true, why: "the next step must fit a 32-bit column" },
  retries: { min: 0, max: MAX_COUNT, whole: true, required: true, why: "the next retry must fit a 32-bit column" },
  max_retries: { min: 0, max: MAX_COUNT, whole: true, required: false },
  started_at: { min: 0, max: MAX_EPOCH_SECONDS, required: false, unit: "seconds since the epoch" },
  additional_delay_seconds: { min: 0, max: MAX_DELAY_SECONDS, required: false, unit: "seconds", why: "one year" },
  lease_timeout: { min: 0.001, max: MAX_LEASE_TIMEOUT_SECONDS, required: false, unit: "seconds", why: "the longest timer Node.js can set" },
  fence_token: { min: 0, max: Number.MAX_SAFE_INTEGER, whole: true, required: false },
};

/** {@link NUMBER_RANGES} as a list, built once: every decode walks it. */
const NUMBER_CHECKS = Object.entries(NUMBER_RANGES);

function checkNumber(sc: Record<string, unknown>, key: string, range: NumberRange & { readonly required: boolean }): void {
  const value = sc[key];
  if (value === undefined && !range.required) return;
  const problem = value === undefined ? `is missing; it must be ${describeRange(range)}` : rangeProblem(value, range);
  if (problem !== undefined) throw new MalformedMessageError(`message system_context.${key} ${problem}`);
}

/** What a message may leave out and its reader fills in, as the seed system does. */
export interface MessageDefaults {
  /** The machine definition's `max_retries`. */
  readonly max_retries: number;
  /** The settings' `lease_timeout`, in seconds. */
  readonly lease_timeout: number;
}

const FIXED_DEFAULTS: MessageDefaults = { max_retries: DEFAULT_MAX_RETRIES, lease_timeout: DEFAULT_LEASE_TIMEOUT_SECONDS };

/**
 * Parse and check a message body; anything unusable raises {@link MalformedMessageError}. A message
 * without `max_retries` or `lease_timeout` (the seed system's own start messages carry neither) takes
 * them from `defaults`, called with the message's machine name: the definition and the settings.
 */
export function decodeMessage(body: string, defaults: (machineName: string) => MessageDefaults = () => FIXED_DEFAULTS): WireMessage {
  let parsed: unknown;
  try {
    parsed = JSON.parse(body);
  } catch (error) {
    // V8 quotes the start of the text it could not parse ("Unexpected token 'x', \"…\" is not valid
    // JSON"): the reason is logged and kept with the dead letter, so it names the token, not the body.
    const why = (error as Error).message.replace(/, ".*"(?:\.\.\.)? is not valid JSON$/s, "");
    throw new MalformedMessageError(`message is not valid JSON: ${why}`, {
      cause: error,
    });
  }
  if (!isObject(parsed)) throw new MalformedMessageError("message is not a JSON object");
  if (parsed.version !== WIRE_VERSION) {
    throw new MalformedMessageError(
      `message has unsupported version ${JSON.stringify(parsed.version)} (expected "${WIRE_VERSION}")`,
    );
  }
  const sc = parsed.system_context;
  if (!isObject(sc)) throw new MalformedMessageError("message has no system_context object");
  for (const key of REQUIRED_STRINGS) {
    if (typeof sc[key] !== "string" || sc[key] === "") {
      throw new MalformedMessageError(`message system_context.${key} is missing or not a string`);
    }
  }
  for (const [key, range] of NUMBER_CHECKS) checkNumber(sc, key, range);
  if (sc.machine_version !== undefined && (typeof sc.machine_version !== "string" || sc.machine_version === "")) {
    throw new MalformedMessageError("message system_context.machine_version is not a non-empty string; it names the machine version the instance is pinned to");
  }
  const uc = parsed.user_context ?? {};
  if (!isObject(uc)) throw new MalformedMessageError("message user_context is not a JSON object");
  const system = sc as Partial<SystemContext>;
  const fill = system.max_retries === undefined || system.lease_timeout === undefined ? defaults(system.machine_name as string) : FIXED_DEFAULTS;
  return {
    version: WIRE_VERSION,
    system_context: {
      ...sc,
      machine_name: system.machine_name as string,
      current_state: system.current_state as string,
      current_event: system.current_event as string,
      correlation_id: system.correlation_id as string,
      steps: system.steps as number,
      retries: system.retries as number,
      max_retries: system.max_retries ?? fill.max_retries,
      started_at: system.started_at ?? 0,
      lease_primary: system.lease_primary !== false,
      additional_delay_seconds: system.additional_delay_seconds ?? 0,
      lease_timeout: system.lease_timeout ?? fill.lease_timeout,
    },
    user_context: uc,
  };
}

/** A deep copy through JSON, the same transformation the message takes on the wire. */
export function cloneMessage(message: WireMessage): WireMessage {
  return JSON.parse(JSON.stringify(message)) as WireMessage;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}
