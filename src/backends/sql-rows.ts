/**
 * Rows of the SQL backends (SQLite and PostgreSQL share the table layout) and how they become the
 * records the ports return: instances, dead letters, metric dimensions and claimed deliveries.
 */

import type { MachineDocument } from "../core/machine.js";
import type {
  AbortRequest,
  DeadLetter,
  DefinitionRecord,
  Delivery,
  GroupLease,
  InstanceControl,
  InstanceRecord,
  MetricDimensions,
  MigrationOrder,
  ParkedMessage,
  PauseRule,
  Side,
  StoredStatus,
  VersionCount,
} from "../ports.js";

/** The columns of `instances`, in the order the journals insert them. */
export const INSTANCE_COLUMNS = "correlation_id, machine_name, status, state, user_context, started_at, updated_at, reason";

/** What the journals select: the inserted columns, the step the record reflects, the controls and the version. */
export const INSTANCE_SELECT = `${INSTANCE_COLUMNS}, steps, lease_primary, fence_token, paused, parked, abort_reason, abort_at, abort_step, version`;

/**
 * The unversioned instances (`version: null`) where a version is a key or a filter: a
 * `migration_orders.from_version` (a primary key column cannot be NULL) and the `list` filter's
 * parameter (whose NULL means no filter). A version is a content hash, never empty.
 */
export const UNVERSIONED = "";

/** In SQL over `instances`: an abort was asked and not yet taken (no step took the abort path). */
export const ABORT_PENDING = "abort_reason IS NOT NULL AND abort_step IS NULL";

/** The statuses no later step leaves (the monotonic rule of JournalPort.updateInstance), as an SQL list. */
export const FINAL_STATUS_LIST = "('completed', 'failed', 'aborted')";

/**
 * The status as users see it, in SQL: `paused` over a stored `running` or `waiting` of an instance
 * that is paused or has parked messages (`paused` is 1/0 on SQLite, a boolean on PostgreSQL:
 * `paused_true` is what the dialect compares it with).
 */
export function shownStatusSql(pausedTrue: string): string {
  return `(CASE WHEN status IN ('running', 'waiting') AND (paused = ${pausedTrue} OR parked > 0) THEN 'paused' ELSE status END)`;
}

export interface InstanceRow {
  correlation_id: string;
  machine_name: string;
  status: StoredStatus;
  state: string;
  user_context: string;
  started_at: number;
  updated_at: number;
  reason: string | null;
  /** A BIGINT on PostgreSQL, which may come back as a string. */
  steps?: number | string | null;
  /** 1/0 on SQLite, a boolean on PostgreSQL; null before the first processing. */
  lease_primary?: number | boolean | null;
  fence_token?: number | string | null;
  paused?: number | boolean | null;
  parked?: number | string | null;
  abort_reason?: string | null;
  abort_at?: number | string | null;
  abort_step?: number | string | null;
  /** The machine version the instance is pinned to; null (or absent) when unversioned. */
  version?: string | null;
}

function abortOf(row: Pick<InstanceRow, "abort_reason" | "abort_at" | "abort_step">): AbortRequest | undefined {
  if (row.abort_reason === undefined || row.abort_reason === null) return undefined;
  return {
    reason: row.abort_reason,
    at: Number(row.abort_at),
    ...(row.abort_step === undefined || row.abort_step === null ? {} : { step: Number(row.abort_step) }),
  };
}

export function instanceRecordOf(row: InstanceRow): InstanceRecord {
  const paused = Boolean(row.paused);
  const parked = Number(row.parked ?? 0);
  const held = (row.status === "running" || row.status === "waiting") && (paused || parked > 0);
  const abort = abortOf(row);
  return {
    correlationId: row.correlation_id,
    machineName: row.machine_name,
    status: held ? "paused" : row.status,
    state: row.state,
    userContext: JSON.parse(row.user_context) as Record<string, unknown>,
    startedAt: row.started_at,
    updatedAt: row.updated_at,
    reason: row.reason ?? undefined,
    steps: row.steps === undefined || row.steps === null ? undefined : Number(row.steps),
    leasePrimary: row.lease_primary === undefined || row.lease_primary === null ? undefined : Boolean(row.lease_primary),
    fenceToken: row.fence_token === undefined || row.fence_token === null ? undefined : Number(row.fence_token),
    ...(held ? { pausedStatus: row.status as "running" | "waiting" } : {}),
    ...(paused ? { paused: true as const } : {}),
    ...(parked > 0 ? { parked } : {}),
    ...(abort === undefined ? {} : { abort }),
    ...(row.version === undefined || row.version === null ? {} : { version: row.version }),
  };
}

/** What a journal's `control` query selects: the controls and whether a machine pause holds. */
export interface ControlRow extends Pick<InstanceRow, "abort_reason" | "abort_at" | "abort_step"> {
  status: StoredStatus;
  steps: number | string;
  paused: number | boolean;
  held_by_rule: number | boolean;
}

export function instanceControlOf(row: ControlRow): InstanceControl {
  const abort = abortOf(row);
  return {
    status: row.status,
    steps: Number(row.steps),
    paused: Boolean(row.paused) || Boolean(row.held_by_rule),
    ...(abort === undefined ? {} : { abort }),
  };
}

/** A machine pause at every state is stored with this state (a primary key column cannot be NULL). */
export const EVERY_STATE = "";

export function pauseRuleOf(row: { machine_name: string; state: string }): PauseRule {
  return row.state === EVERY_STATE ? { machineName: row.machine_name } : { machineName: row.machine_name, state: row.state };
}

/** The columns of `definitions`, as {@link DefinitionRow} names them. */
export const DEFINITION_COLUMNS = "machine_name, version, label, document, deployed_at";

export interface DefinitionRow {
  machine_name: string;
  version: string;
  label: string | null;
  /** The document's JSON text. */
  document: string;
  /** A bigint on PostgreSQL, which may come back as a string. */
  deployed_at: number | string;
}

export function definitionRecordOf(row: DefinitionRow): DefinitionRecord {
  return {
    machineName: row.machine_name,
    version: row.version,
    ...(row.label === null ? {} : { label: row.label }),
    document: JSON.parse(row.document) as MachineDocument,
    deployedAt: Number(row.deployed_at),
  };
}

/** The parameters of a `definitions` row, in the order of {@link DEFINITION_COLUMNS}. */
export function definitionParams(record: DefinitionRecord): [string, string, string | null, string, number] {
  return [record.machineName, record.version, record.label ?? null, JSON.stringify(record.document), Math.round(record.deployedAt)];
}

/** A row of `migration_orders` (`from_version` {@link UNVERSIONED} for the unversioned instances). */
export interface MigrationOrderRow {
  machine_name: string;
  from_version: string;
  to_version: string;
  at: number | string;
}

export function migrationOrderOf(row: MigrationOrderRow): MigrationOrder {
  return {
    machineName: row.machine_name,
    from: row.from_version === UNVERSIONED ? null : row.from_version,
    to: row.to_version,
    at: Number(row.at),
  };
}

/** A row of the `versionCounts` query: the count is a bigint on PostgreSQL. */
export interface VersionCountRow {
  machine_name: string;
  version: string | null;
  status: VersionCount["status"];
  count: number | string;
}

export function versionCountOf(row: VersionCountRow): VersionCount {
  return { machineName: row.machine_name, version: row.version, status: row.status, count: Number(row.count) };
}

/** The columns of `parked_messages`, as {@link ParkedRow} names them. */
export const PARKED_COLUMNS = "correlation_id, machine_name, state, steps, retries, body, parked_at";

export interface ParkedRow {
  correlation_id: string;
  machine_name: string;
  state: string;
  steps: number | string;
  retries: number | string;
  body: string;
  parked_at: number | string;
}

export function parkedMessageOf(row: ParkedRow): ParkedMessage {
  return {
    correlationId: row.correlation_id,
    machineName: row.machine_name,
    state: row.state,
    steps: Number(row.steps),
    retries: Number(row.retries),
    body: row.body,
    parkedAt: Number(row.parked_at),
  };
}

/** The columns of `dead_letters`, as {@link DeadLetterRow} names them. */
export const DEAD_LETTER_COLUMNS = "id, source_uri, message_id, body, reason, receive_count, dead_at";

export interface DeadLetterRow {
  id: number;
  source_uri: string;
  message_id: string;
  body: string;
  reason: string;
  receive_count: number;
  dead_at: number;
}

export function deadLetterOf(row: DeadLetterRow): DeadLetter {
  return {
    id: row.id,
    sourceUri: row.source_uri,
    messageId: row.message_id,
    body: row.body,
    reason: row.reason,
    receiveCount: row.receive_count,
    deadAt: row.dead_at,
  };
}

/** The dimension columns of a `metrics` row. */
export interface DimensionRow {
  machine_name: string;
  current_state: string;
  current_event: string;
}

export function dimensionsOf(row: DimensionRow): MetricDimensions {
  return { machine_name: row.machine_name, current_state: row.current_state, current_event: row.current_event };
}

/** A `stream_messages` row as a receive claims it. */
export interface ClaimedMessage {
  id: number;
  body: string;
  receive_count: number;
}

/** What ack, release, extend and dead-letter of a stream delivery need. */
export interface StreamHandle {
  readonly id: number;
  readonly token: string;
}

/** The deliveries of one stream receive (claim `token`), in send order. */
export function streamDeliveries(rows: ClaimedMessage[], token: string, side: Side): Delivery[] {
  return rows
    .sort((a, b) => a.id - b.id)
    .map((row) => ({
      id: String(row.id),
      body: row.body,
      receiveCount: row.receive_count,
      role: "stream",
      side,
      handle: { id: row.id, token } satisfies StreamHandle,
    }));
}

/** A `retry_entries` row as a receive claims it. */
export interface ClaimedRetry {
  correlation_id: string;
  steps: number;
  body: string;
  receive_count: number;
}

/** What ack, release, extend and dead-letter of a retry delivery need. */
export interface RetryHandle {
  readonly correlationId: string;
  readonly steps: number;
  readonly token: string;
}

/** The deliveries of one retry receive (claim `token`), in the order the rows came back. */
export function retryDeliveries(rows: ClaimedRetry[], token: string, side: Side): Delivery[] {
  return rows.map((row) => ({
    id: `${row.correlation_id}:${row.steps}`,
    body: row.body,
    receiveCount: row.receive_count,
    role: "retry",
    side,
    handle: { correlationId: row.correlation_id, steps: row.steps, token } satisfies RetryHandle,
  }));
}

/** A row of `consumer_leases`: one shard lease or consumer heartbeat (see ConsumerStatePort). */
export interface LeaseRow {
  key: string;
  owner: string;
  expires_at: number;
  position: string;
  version: number;
}

export const LEASE_COLUMNS = "key, owner, expires_at, position, version";

export function leaseOf(row: LeaseRow): GroupLease {
  return { key: row.key, owner: row.owner, expiresAt: row.expires_at, position: row.position, version: row.version };
}
