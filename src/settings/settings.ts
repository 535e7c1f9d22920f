/**
 * The settings file (SPEC §4): which backend serves each role, chaos rates, timeouts.
 *
 * ```yaml
 * stream:  { primary: sqlite:./a.db, secondary: sqlite:./b.db }
 * retry:   sqlite:./a.db          # a plain URI is a primary with no secondary
 * cache:   { primary: sqlite:./a.db, secondary: sqlite:./b.db }
 * chaos:   { "stream.primary": 1.0 }
 * lease_timeout: 300               # seconds
 * visibility_timeout: 30           # seconds before an unacknowledged message is delivered again
 * max_receive_count: 10            # deliveries without being handled before a message is dead-lettered
 * fused_transitions: true          # one atomic call per transition where the roles share a backend
 * ```
 *
 * Roles left out use the default store, one SQLite file under `./.switchyard/`. Relative paths in
 * URIs resolve against the settings file's directory (or the working directory without a file).
 */
import { existsSync, readFileSync } from "node:fs";
import path from "node:path";
import { parse as parseYaml } from "yaml";
import { DEFAULT_LEASE_TIMEOUT_SECONDS } from "../core/message.js";
import { MAX_RECEIVE_COUNT } from "../engine/engine.js";
import { SettingsError } from "../errors.js";
import { ROLES, type RoleName, SIDES, type Side } from "../ports.js";
import { MAX_TIMER_SECONDS, type NumberRange, rangeProblem } from "../core/ranges.js";

/** The store every role uses when nothing else is configured. */
export const DEFAULT_STORE_URI = "sqlite:.switchyard/switchyard.db";
/** Settings files looked for in the working directory when `--settings` is not given. */
export const DEFAULT_SETTINGS_FILES = ["switchyard.settings.yaml", "switchyard.settings.yml", "switchyard.settings.json"];
/** Default seconds before an unacknowledged message is delivered again. */
export const DEFAULT_VISIBILITY_TIMEOUT_SECONDS = 30;

/**
 * `lease_timeout`: any finite time up to the longest timer Node.js can set, which is also inside
 * Memcached's 30-day limit on relative expiry times.
 */
export const LEASE_TIMEOUT_RANGE: NumberRange = {
  min: 0.001,
  max: MAX_TIMER_SECONDS,
  unit: "seconds",
  why: "about 24.8 days, the longest timer Node.js can set",
};
/** `visibility_timeout`: SQS keeps a message hidden for at most 12 hours and would cut a longer claim short. */
export const VISIBILITY_TIMEOUT_RANGE: NumberRange = {
  min: 0.001,
  max: 43_200,
  unit: "seconds",
  why: "12 hours, the longest SQS visibility timeout",
};
/** A chaos failure rate. */
const CHAOS_RATE_RANGE: NumberRange = { min: 0, max: 1 };

/** A role's backends as written: a URI, or a primary and an optional secondary. */
export type RoleConfig = string | { primary: string; secondary?: string | undefined };

/** The settings file as written. */
export interface SettingsConfig {
  stream?: RoleConfig;
  retry?: RoleConfig;
  cache?: RoleConfig;
  /** The optional roles can be switched off with `false`. */
  checkpoint?: RoleConfig | false;
  metrics?: RoleConfig | false;
  environment?: RoleConfig | false;
  /** Where instance status and history are kept (default: the checkpoint primary, else the default store). */
  journal?: string | false;
  /** Failure rates per `role.side`, 0.0–1.0. */
  chaos?: Record<string, number>;
  lease_timeout?: number;
  visibility_timeout?: number;
  max_receive_count?: number;
  /**
   * Where the primaries of stream, retry, cache and checkpoint, and the journal, are one backend
   * that offers it, a transition's writes go to it in two calls (begin, commit) instead of one per
   * role (default true); false keeps every role's call separate, for comparison.
   */
  fused_transitions?: boolean;
  /** ARN or service → endpoint URL (emulators, VPC endpoints). */
  endpoints?: Record<string, string>;
}

/** A role's resolved backends. */
export interface RoleBinding {
  readonly primary: string;
  readonly secondary?: string | undefined;
}

/** Resolved settings. */
export interface Settings {
  /** The file they came from, if any. */
  readonly file: string | undefined;
  /** Relative URIs resolve against this directory. */
  readonly baseDir: string;
  /** The required roles always have a binding; the optional ones are undefined when switched off. */
  readonly roles: Readonly<Record<RequiredRole, RoleBinding> & Record<OptionalRole, RoleBinding | undefined>>;
  readonly journal: string | undefined;
  readonly chaos: ReadonlyMap<`${RoleName}.${Side}`, number>;
  readonly leaseTimeoutSeconds: number;
  readonly visibilityTimeoutSeconds: number;
  /** Deliveries without being handled before a message goes to the dead letters. */
  readonly maxReceiveCount: number;
  /** Bind the fused transition path where the roles allow it ({@link SettingsConfig.fused_transitions}). */
  readonly fusedTransitions: boolean;
  readonly endpoints: Readonly<Record<string, string>>;
}

/** The settings keys that name `uri` (`stream.primary`, `journal`, …), for messages. */
export function keysNaming(settings: Settings, uri: string): string[] {
  const keys: string[] = [];
  for (const [role, binding] of Object.entries(settings.roles) as [RoleName, RoleBinding | undefined][]) {
    if (binding?.primary === uri) keys.push(`${role}.primary`);
    if (binding?.secondary === uri) keys.push(`${role}.secondary`);
  }
  if (settings.journal === uri) keys.push("journal");
  return keys;
}

/** Roles the protocol cannot do without (SPEC §4). */
export const REQUIRED_ROLES = ["stream", "retry", "cache"] as const;
export type RequiredRole = (typeof REQUIRED_ROLES)[number];
export type OptionalRole = Exclude<RoleName, RequiredRole>;

const KNOWN_KEYS = new Set<string>([...ROLES, "journal", "chaos", "lease_timeout", "visibility_timeout", "max_receive_count", "fused_transitions", "endpoints"]);

/**
 * Load settings: from `file` if given (it must exist), else from a default settings file in `cwd`,
 * else the defaults.
 */
export function loadSettings(options: { file?: string | undefined; cwd?: string } = {}): Settings {
  const cwd = options.cwd ?? process.cwd();
  let file = options.file ?? process.env.SWITCHYARD_SETTINGS;
  if (file === undefined) {
    file = DEFAULT_SETTINGS_FILES.map((name) => path.join(cwd, name)).find((candidate) => existsSync(candidate));
    if (file === undefined) return resolveSettings({}, { baseDir: cwd, file: undefined });
  }
  const absolute = path.resolve(cwd, file);
  let text: string;
  try {
    text = readFileSync(absolute, "utf8");
  } catch (error) {
    throw new SettingsError(`cannot read settings file ${file}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}; check the --settings path`);
  }
  let config: unknown;
  try {
    config = absolute.endsWith(".json") ? JSON.parse(text) : parseYaml(text);
  } catch (error) {
    throw new SettingsError(`settings file ${file} is not valid ${absolute.endsWith(".json") ? "JSON" : "YAML"}: ${firstLine((error as Error).message)}`);
  }
  return resolveSettings(withEnvironmentEndpoints(config ?? {}), { baseDir: path.dirname(absolute), file: absolute });
}

/** The environment variable whose JSON object adds to, or replaces entries of, the file's `endpoints`. */
export const ENDPOINTS_VARIABLE = "SWITCHYARD_ENDPOINTS";

/**
 * The settings file's `endpoints` with those of `SWITCHYARD_ENDPOINTS` over them: a deployment
 * gives the URL of a cluster it did not create (ElastiCache) without a new bundle.
 */
function withEnvironmentEndpoints(config: unknown): unknown {
  const text = process.env[ENDPOINTS_VARIABLE];
  if (text === undefined || text.trim() === "" || typeof config !== "object" || config === null || Array.isArray(config)) return config;
  let overrides: unknown;
  try {
    overrides = JSON.parse(text);
  } catch (error) {
    throw new SettingsError(`${ENDPOINTS_VARIABLE} is not valid JSON: ${firstLine((error as Error).message)}; write {"ARN or service": "URL"}`);
  }
  const checked = stringMap(ENDPOINTS_VARIABLE, "its value", overrides);
  const current = (config as Record<string, unknown>).endpoints;
  // A malformed file entry keeps its own error.
  if (current !== undefined && (typeof current !== "object" || current === null || Array.isArray(current))) return config;
  return { ...config, endpoints: { ...current, ...checked } };
}

/** Check and resolve a settings object (from a file or from code). */
export function resolveSettings(config: unknown, where: { baseDir: string; file: string | undefined }): Settings {
  const label = where.file ?? "settings";
  if (typeof config !== "object" || config === null || Array.isArray(config)) {
    throw new SettingsError(`${label}: settings must be a mapping of roles and options`);
  }
  const raw = config as Record<string, unknown>;
  for (const key of Object.keys(raw)) {
    if (!KNOWN_KEYS.has(key)) {
      throw new SettingsError(`${label}: unknown settings key "${key}"; known keys: ${[...KNOWN_KEYS].join(", ")}`);
    }
  }
  const roles = Object.fromEntries(ROLES.map((role) => [role, roleBinding(label, role, raw[role])])) as Settings["roles"];
  const journal = raw.journal === false ? undefined : raw.journal === undefined ? defaultJournal(roles) : raw.journal;
  if (journal !== undefined && typeof journal !== "string") {
    throw new SettingsError(`${label}: journal must be a backend URI or false`);
  }
  return {
    file: where.file,
    baseDir: where.baseDir,
    roles,
    journal,
    chaos: chaosRates(label, raw.chaos),
    leaseTimeoutSeconds: numberIn(label, "lease_timeout", raw.lease_timeout, LEASE_TIMEOUT_RANGE, DEFAULT_LEASE_TIMEOUT_SECONDS),
    visibilityTimeoutSeconds: numberIn(label, "visibility_timeout", raw.visibility_timeout, VISIBILITY_TIMEOUT_RANGE, DEFAULT_VISIBILITY_TIMEOUT_SECONDS),
    maxReceiveCount: numberIn(label, "max_receive_count", raw.max_receive_count, MAX_RECEIVE_COUNT_RANGE, MAX_RECEIVE_COUNT),
    fusedTransitions: booleanSetting(label, "fused_transitions", raw.fused_transitions, true),
    endpoints: stringMap(label, "endpoints", raw.endpoints),
  };
}

function booleanSetting(label: string, key: string, value: unknown, fallback: boolean): boolean {
  if (value === undefined) return fallback;
  if (typeof value !== "boolean") throw new SettingsError(`${label}: ${key} must be true or false, not ${JSON.stringify(value)}`);
  return value;
}

function roleBinding(label: string, role: RoleName, value: unknown): RoleBinding | undefined {
  if (value === undefined || value === null) return { primary: DEFAULT_STORE_URI };
  if (value === false) {
    if ((REQUIRED_ROLES as readonly string[]).includes(role)) {
      throw new SettingsError(`${label}: the ${role} role cannot be switched off; give it a backend URI`);
    }
    return undefined;
  }
  if (typeof value === "string") return { primary: checkUri(label, `${role}`, value) };
  if (typeof value !== "object" || Array.isArray(value)) {
    throw new SettingsError(`${label}: ${role} must be a backend URI or {primary, secondary}${(REQUIRED_ROLES as readonly string[]).includes(role) ? "" : " (or false)"}`);
  }
  const { primary, secondary, ...rest } = value as Record<string, unknown>;
  const extra = Object.keys(rest)[0];
  if (extra !== undefined) throw new SettingsError(`${label}: unknown key "${extra}" in ${role}; use primary and secondary`);
  if (typeof primary !== "string") throw new SettingsError(`${label}: ${role}.primary must be a backend URI`);
  if (secondary !== undefined && typeof secondary !== "string") {
    throw new SettingsError(`${label}: ${role}.secondary must be a backend URI`);
  }
  const binding = {
    primary: checkUri(label, `${role}.primary`, primary),
    secondary: secondary === undefined ? undefined : checkUri(label, `${role}.secondary`, secondary),
  };
  if (binding.secondary !== undefined && binding.secondary === binding.primary) {
    throw new SettingsError(`${label}: ${role}.primary and ${role}.secondary are the same store (${primary}); a failover needs two distinct stores`);
  }
  return binding;
}

function checkUri(label: string, what: string, uri: string): string {
  const trimmed = uri.trim();
  if (!/^[a-z][a-z0-9+.-]*:/i.test(trimmed)) {
    throw new SettingsError(`${label}: ${what} "${uri}" is not a backend URI; write e.g. sqlite:./state.db`);
  }
  return trimmed;
}

function defaultJournal(roles: Settings["roles"]): string {
  const checkpoint = roles.checkpoint?.primary;
  // The journal lives where the checkpoints are, when that store can keep it.
  return checkpoint !== undefined && /^(sqlite:|postgres(ql)?:\/\/|arn:aws[a-z-]*:dynamodb:)/.test(checkpoint) ? checkpoint : DEFAULT_STORE_URI;
}

function chaosRates(label: string, value: unknown): Map<`${RoleName}.${Side}`, number> {
  const rates = new Map<`${RoleName}.${Side}`, number>();
  if (value === undefined || value === null) return rates;
  if (typeof value !== "object" || Array.isArray(value)) {
    throw new SettingsError(`${label}: chaos must map "role.side" to a failure rate, e.g. {"stream.primary": 0.3}`);
  }
  for (const [key, rate] of Object.entries(value)) {
    const [role, side] = key.split(".");
    if (!(ROLES as readonly string[]).includes(role ?? "") || !(SIDES as readonly string[]).includes(side ?? "")) {
      throw new SettingsError(`${label}: chaos key "${key}" must be role.side with role one of ${ROLES.join(", ")} and side primary or secondary`);
    }
    const problem = rangeProblem(rate, CHAOS_RATE_RANGE);
    if (problem !== undefined) throw new SettingsError(`${label}: chaos rate for ${key} ${problem}`);
    rates.set(key as `${RoleName}.${Side}`, rate as number);
  }
  return rates;
}

/** Deliveries of one message before it is dead-lettered. */
const MAX_RECEIVE_COUNT_RANGE: NumberRange = { min: 1, max: 1000, whole: true };

function numberIn(label: string, key: string, value: unknown, range: NumberRange, fallback: number): number {
  if (value === undefined) return fallback;
  const problem = rangeProblem(value, range);
  if (problem !== undefined) throw new SettingsError(`${label}: ${key} ${problem}`);
  return value as number;
}

function stringMap(label: string, key: string, value: unknown): Record<string, string> {
  if (value === undefined) return {};
  if (typeof value !== "object" || value === null || Array.isArray(value) || Object.values(value).some((v) => typeof v !== "string")) {
    throw new SettingsError(`${label}: ${key} must map names to URL strings`);
  }
  return value as Record<string, string>;
}

function firstLine(text: string): string {
  return text.split("\n")[0] ?? text;
}
