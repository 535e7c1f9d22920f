/**
 * The instance journal on two tables of the family:
 *
 * | table | key | item |
 * | --- | --- | --- |
 * | `NAME-instances` | `correlation_id` | one per instance: status, state, context (JSON), step, controls; `parked_keys`, the set of its parked `steps#retries` (its size is the `parked` count) |
 * | ↳ index `by_machine` | `machine_name`, `started_key` | KEYS_ONLY; `started_key` = `(10^15 - 1 - started_at)` zero-padded, `#`, the id: ascending is newest started first, ties by id |
 * | `NAME-journal` | `pk` = `i#<id>`, `sk` = `m#<steps>#<seq>` / `a#<steps>#<retries>#<seq>` / `e#<seq>` | a message / failed attempt / error emission (`body`, JSON); steps and retries zero-padded, `seq` the time-based sequence number of the stream's items, strictly increasing within a process: step order, then append order |
 * | | `pk` = `p#<machine>`, `sk` = `<id>#<steps>#<retries>` | a parked message: a machine's are one consistent Query, so a resume that lifted a pause finds every message parked under it |
 * | | `pk` = `i#<id>`, `sk` = `p#<steps>#<retries>` | where the instance's parked message is (`machine_name`), so it is found by its id alone, with or without a record |
 * | | `pk` = `r`, `sk` = machine | the machine's pauses: the string set `states` (`*` every state, `=<state>` one state) |
 * | | `pk` = `d`, `sk` = `<machine>#<version>` | a registered definition version (`machine_name`, `version`, `label`, `document` JSON, `deployed_at`): one partition, so every machine's versions are one Query |
 * | | `pk` = `o`, `sk` = `<machine>#<from>` (`from` empty for unversioned instances) | a migration order (`machine_name`, `from` when versioned, `to`, `at`); a later order from the same version overwrites it |
 *
 * Each state change is one conditional write: the monotonic `updateInstance` an UpdateItem whose
 * condition is the monotonic rule, `createInstances` a PutItem per record conditioned on a free id,
 * `registerDefinitions` a PutItem per version conditioned on a free key. `migrateInstance` is one
 * transaction: the record's Update conditioned on its version, step and status, and its history
 * entry's Put; `deleteDefinition` one too (the version and its migration orders).
 * `park` and `unpark` write several items, so they are transactions (TransactWriteItems): the parked
 * message, its pointer, and its key in the instance's `parked_keys`, under the condition that the
 * instance is paused (folded into that update), or else in a second transaction under a
 * ConditionCheck on the machine's pause item. Every read a decision depends on is strongly
 * consistent; only `list` by machine walks the (eventually consistent) index, and it reads each
 * record it finds consistently.
 *
 * With `journal_ttl_days`, every item but parked messages and pauses carries `expires_ttl` (epoch
 * seconds) that many days after its last write; pausing an instance or parking one of its messages
 * removes the record's, so a paused instance is kept until it is written again.
 */
import {
  type AttributeValue,
  BatchGetItemCommand,
  BatchWriteItemCommand,
  DeleteItemCommand,
  type DynamoDBClient,
  PutItemCommand,
  QueryCommand,
  type QueryCommandInput,
  ScanCommand,
  type TransactWriteItem,
  TransactWriteItemsCommand,
  UpdateItemCommand,
  type UpdateItemCommandOutput,
} from "@aws-sdk/client-dynamodb";
import { scanActivity } from "../../../core/activity.js";
import { scanStateCounts } from "../../../core/state-counts.js";
import { SystemError } from "../../../errors.js";
import type {
  Activity,
  ActivityFilter,
  Clock,
  DefinitionRecord,
  InstanceControl,
  InstanceMove,
  InstanceRecord,
  InstanceStatus,
  InstanceUpdate,
  JournalAttempt,
  JournalErrors,
  JournalMessage,
  JournalPort,
  ListOptions,
  MigrationOrder,
  ParkedMessage,
  PauseRule,
  StateCountFilter,
  StateCounts,
  StoredStatus,
  VersionCount,
} from "../../../ports.js";
import { EVERY_STATE, type InstanceRow, instanceControlOf, instanceRecordOf, parkedMessageOf, pauseRuleOf } from "../../sql-rows.js";
import { call, conditional, errorName, getItem, type TableRef, translate } from "./client.js";
import { assertItemSize, BOOL, type Item, N, num, S, str } from "./item.js";
import { nextSequenceNumber } from "./queue.js";
import { MACHINE_INDEX, TTL_ATTRIBUTE } from "./tables.js";

/** Where the journal lives and how long its items are kept. */
export interface DynamoJournalOptions {
  readonly client: DynamoDBClient;
  readonly instances: TableRef;
  readonly entries: TableRef;
  readonly uri: string;
  readonly clock: Clock;
  /** Days an item is kept after its last write (DynamoDB TTL); undefined: for good. */
  readonly ttlDays?: number | undefined;
}

const STEP_DIGITS = 16;
const RETRY_DIGITS = 10;
const SEQUENCE_DIGITS = 24;
/** `started_key` counts down from here, so the index's ascending order is newest started first. */
const START_KEY_TOP = 999_999_999_999_999;
/** The partition of the pause items. */
const PAUSES = "r";
/** The partitions of the definition registry: registered versions, migration orders. */
const DEFINITIONS = "d";
const ORDERS = "o";
/** Items one TransactWriteItems holds. */
const TRANSACTION_ITEMS = 100;
/** Tries of `deleteDefinition` when a migration order changed between its read and its transaction. */
const DELETE_ATTEMPTS = 5;
/** A pause at every state in a machine's `states` set (one state is `=<state>`). */
const EVERY = "*";
/** Records created at once by `createInstances`. */
const CREATE_CONCURRENCY = 16;
/** Histories `activity` reads at once. */
const HISTORY_CONCURRENCY = 16;
/** Sends of a batch's unprocessed part before it counts as failed. */
const BATCH_ATTEMPTS = 5;
const FINAL = { ":completed": S("completed"), ":failed": S("failed"), ":aborted": S("aborted") };
const IS_FINAL = "#status IN (:completed, :failed, :aborted)";

const pad = (value: number, digits: number) => String(value).padStart(digits, "0");
const instanceKey = (correlationId: string): Item => ({ correlation_id: S(correlationId) });
const entriesOf = (correlationId: string) => `i#${correlationId}`;
const parkedPartition = (machineName: string) => `p#${machineName}`;
const parkedSortKey = (correlationId: string, steps: number, retries: number) =>
  `${correlationId}#${pad(steps, STEP_DIGITS)}#${pad(retries, RETRY_DIGITS)}`;
const parkedKey = (steps: number, retries: number) => `${steps}#${retries}`;
const pointerKey = (correlationId: string, steps: number, retries: number): Item => ({
  pk: S(entriesOf(correlationId)),
  sk: S(`p#${pad(steps, STEP_DIGITS)}#${pad(retries, RETRY_DIGITS)}`),
});
const parkedItemKey = (machineName: string, correlationId: string, steps: number, retries: number): Item => ({
  pk: S(parkedPartition(machineName)),
  sk: S(parkedSortKey(correlationId, steps, retries)),
});
const pauseKey = (machineName: string): Item => ({ pk: S(PAUSES), sk: S(machineName) });
const definitionKey = (machineName: string, version: string): Item => ({ pk: S(DEFINITIONS), sk: S(`${machineName}#${version}`) });
const orderKey = (machineName: string, from: string | null): Item => ({ pk: S(ORDERS), sk: S(`${machineName}#${from ?? ""}`) });
const encodeState = (state: string | undefined) => (state === undefined || state === EVERY_STATE ? EVERY : `=${state}`);
const decodeState = (value: string) => (value === EVERY ? EVERY_STATE : value.slice(1));
const sequence = (now: number) => nextSequenceNumber(now).padStart(SEQUENCE_DIGITS, "0");

/** The index key that orders a machine's instances newest started first, then by id. */
export function startedKey(startedAt: number, correlationId: string): string {
  const countdown = START_KEY_TOP - Math.min(Math.max(Math.round(startedAt), 0), START_KEY_TOP);
  return `${pad(countdown, String(START_KEY_TOP).length)}#${correlationId}`;
}

/** `ExpressionAttributeNames` for every `#name` the expressions use (DynamoDB refuses unused ones). */
function namesOf(...expressions: Array<string | undefined>): Record<string, string> {
  const names: Record<string, string> = {};
  for (const expression of expressions) {
    for (const match of (expression ?? "").matchAll(/#([A-Za-z_][A-Za-z0-9_]*)/g)) names[match[0]] = match[1] as string;
  }
  return names;
}

function flag(item: Item | undefined, name: string): boolean | undefined {
  const value = item?.[name];
  return value !== undefined && "BOOL" in value ? value.BOOL : undefined;
}

function stringSet(item: Item | undefined, name: string): string[] {
  const value = item?.[name];
  return value !== undefined && "SS" in value ? (value.SS ?? []) : [];
}

/** An instance item as the row the SQL journals read, so `paused` is derived by the same code. */
function rowOf(item: Item): InstanceRow {
  return {
    correlation_id: str(item, "correlation_id") ?? "",
    machine_name: str(item, "machine_name") ?? "",
    status: (str(item, "status") ?? "running") as StoredStatus,
    state: str(item, "state") ?? "",
    user_context: str(item, "user_context") ?? "{}",
    started_at: num(item, "started_at") ?? 0,
    updated_at: num(item, "updated_at") ?? 0,
    reason: str(item, "reason") ?? null,
    steps: num(item, "steps") ?? 0,
    lease_primary: flag(item, "lease_primary") ?? null,
    fence_token: num(item, "fence_token") ?? null,
    paused: flag(item, "paused") ?? false,
    parked: stringSet(item, "parked_keys").length,
    abort_reason: str(item, "abort_reason") ?? null,
    abort_at: num(item, "abort_at") ?? null,
    abort_step: num(item, "abort_step") ?? null,
  };
}

/** An instance item as its record: the SQL journals' mapping, and the version it is pinned to. */
function recordOf(item: Item): InstanceRecord {
  const record = instanceRecordOf(rowOf(item));
  const version = str(item, "version");
  return version === undefined ? record : { ...record, version };
}

function definitionOf(item: Item): DefinitionRecord {
  const label = str(item, "label");
  return {
    machineName: str(item, "machine_name") ?? "",
    version: str(item, "version") ?? "",
    ...(label === undefined ? {} : { label }),
    document: JSON.parse(str(item, "document") ?? "null") as DefinitionRecord["document"],
    deployedAt: num(item, "deployed_at") ?? 0,
  };
}

function orderOf(item: Item): MigrationOrder {
  return { machineName: str(item, "machine_name") ?? "", from: str(item, "from") ?? null, to: str(item, "to") ?? "", at: num(item, "at") ?? 0 };
}

/** Versions in code-unit order, unversioned (`null`) first. */
const compareVersions = (a: string | null, b: string | null) => (a === b ? 0 : a === null ? -1 : b === null ? 1 : compareText(a, b));

function parkedOf(item: Item): ParkedMessage {
  return parkedMessageOf({
    correlation_id: str(item, "correlation_id") ?? "",
    machine_name: str(item, "machine_name") ?? "",
    state: str(item, "state") ?? "",
    steps: num(item, "steps") ?? 0,
    retries: num(item, "retries") ?? 0,
    body: str(item, "body") ?? "",
    parked_at: num(item, "parked_at") ?? 0,
  });
}

/** Strings in code-unit order, as the SQL journals' `ORDER BY` on SQLite. */
const compareText = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

const byParkedAt = (a: ParkedMessage, b: ParkedMessage) =>
  a.parkedAt - b.parkedAt || compareText(a.correlationId, b.correlationId) || a.steps - b.steps || a.retries - b.retries;

/** Journal port over `NAME-instances` and `NAME-journal`. */
export class DynamoJournal implements JournalPort {
  readonly uri: string;
  readonly #client: DynamoDBClient;
  readonly #instances: TableRef;
  readonly #entries: TableRef;
  readonly #clock: Clock;
  readonly #ttlSeconds: number | undefined;

  constructor(options: DynamoJournalOptions) {
    this.uri = options.uri;
    this.#client = options.client;
    this.#instances = options.instances;
    this.#entries = options.entries;
    this.#clock = options.clock;
    this.#ttlSeconds = options.ttlDays === undefined ? undefined : options.ttlDays * 86_400;
  }

  /** The TTL attribute of an item written at `now`, when the URI sets one. */
  #ttl(now: number): Item {
    return this.#ttlSeconds === undefined ? {} : { [TTL_ATTRIBUTE]: N(Math.floor(now / 1000) + this.#ttlSeconds) };
  }

  /** An UpdateItem whose `#names` are filled in from its expressions; undefined when its condition failed. */
  #update(
    table: TableRef,
    key: Item,
    expression: { update: string; condition?: string; values?: Record<string, AttributeValue> },
  ): Promise<UpdateItemCommandOutput | undefined> {
    const values = expression.values ?? {};
    return conditional(table, "UpdateItem", () =>
      this.#client.send(
        new UpdateItemCommand({
          TableName: table.name,
          Key: key,
          UpdateExpression: expression.update,
          ConditionExpression: expression.condition,
          ExpressionAttributeNames: namesOf(expression.update, expression.condition),
          ...(Object.keys(values).length === 0 ? {} : { ExpressionAttributeValues: values }),
        }),
      ),
    );
  }

  /** Every item a Query finds, page by page, read consistently (on the table itself). */
  async #queryAll(table: TableRef, input: Omit<QueryCommandInput, "TableName" | "ExclusiveStartKey" | "ExpressionAttributeNames">): Promise<Item[]> {
    const items: Item[] = [];
    let start: Item | undefined;
    do {
      const page = await call(table, "Query", () =>
        this.#client.send(
          new QueryCommand({
            TableName: table.name,
            ConsistentRead: input.IndexName === undefined,
            ExpressionAttributeNames: namesOf(input.KeyConditionExpression, input.ProjectionExpression),
            ...input,
            ExclusiveStartKey: start,
          }),
        ),
      );
      items.push(...(page.Items ?? []));
      start = page.LastEvaluatedKey;
    } while (start !== undefined);
    return items;
  }

  /** The journal entries of one instance whose sort key starts with `prefix`, in sort-key order. */
  async #entriesOf<T>(correlationId: string, prefix: string): Promise<T[]> {
    const items = await this.#queryAll(this.#entries, {
      KeyConditionExpression: "#pk = :pk AND begins_with(#sk, :prefix)",
      ExpressionAttributeValues: { ":pk": S(entriesOf(correlationId)), ":prefix": S(prefix) },
      ProjectionExpression: "#body",
    });
    return items.map((item) => JSON.parse(str(item, "body") ?? "null") as T);
  }

  async #append(correlationId: string, sortKey: string, entry: unknown): Promise<void> {
    const now = this.#clock.now();
    const item: Item = { pk: S(entriesOf(correlationId)), sk: S(sortKey), body: S(JSON.stringify(entry)), ...this.#ttl(now) };
    assertItemSize(item, this.#entries.name);
    await call(this.#entries, "PutItem", () => this.#client.send(new PutItemCommand({ TableName: this.#entries.name, Item: item })));
  }

  /** Each record with a PutItem conditioned on a free id, {@link CREATE_CONCURRENCY} at a time; true where created. */
  async createInstances(records: readonly InstanceRecord[]): Promise<boolean[]> {
    const results = new Array<boolean>(records.length);
    let next = 0;
    const worker = async () => {
      while (next < records.length) {
        const index = next++;
        results[index] = await this.#create(records[index] as InstanceRecord);
      }
    };
    await Promise.all(Array.from({ length: Math.min(CREATE_CONCURRENCY, records.length) }, worker));
    return results;
  }

  async #create(record: InstanceRecord): Promise<boolean> {
    const item: Item = {
      correlation_id: S(record.correlationId),
      machine_name: S(record.machineName),
      started_key: S(startedKey(record.startedAt, record.correlationId)),
      status: S(record.status === "paused" ? (record.pausedStatus ?? "running") : record.status),
      state: S(record.state),
      user_context: S(JSON.stringify(record.userContext)),
      started_at: N(record.startedAt),
      updated_at: N(record.updatedAt),
      steps: N(0),
      ...(record.reason === undefined ? {} : { reason: S(record.reason) }),
      ...(record.version === undefined ? {} : { version: S(record.version) }),
      ...this.#ttl(this.#clock.now()),
    };
    assertItemSize(item, this.#instances.name);
    const created = await conditional(this.#instances, "PutItem", () =>
      this.#client.send(
        new PutItemCommand({
          TableName: this.#instances.name,
          Item: item,
          ConditionExpression: "attribute_not_exists(#id)",
          ExpressionAttributeNames: { "#id": "correlation_id" },
        }),
      ),
    );
    return created !== undefined;
  }

  /**
   * The record first, then its messages, attempts, error emissions, and parked messages with their
   * pointers (BatchWriteItem). Not one atomic step: an instance's entries are unbounded, more than a
   * transaction holds. A failure part-way leaves entries without a record, which `history` and the
   * others still show until the call is made again.
   */
  async deleteInstance(correlationId: string): Promise<void> {
    await call(this.#instances, "DeleteItem", () =>
      this.#client.send(new DeleteItemCommand({ TableName: this.#instances.name, Key: instanceKey(correlationId) })),
    );
    const entries = await this.#queryAll(this.#entries, {
      KeyConditionExpression: "#pk = :pk",
      ExpressionAttributeValues: { ":pk": S(entriesOf(correlationId)) },
      ProjectionExpression: "#pk, #sk, #machine_name, #steps, #retries",
    });
    const keys = entries.flatMap((entry): Item[] => {
      const key = { pk: entry.pk, sk: entry.sk } as Item;
      const machine = str(entry, "machine_name");
      if (!str(entry, "sk")?.startsWith("p#") || machine === undefined) return [key];
      return [parkedItemKey(machine, correlationId, num(entry, "steps") ?? 0, num(entry, "retries") ?? 0), key];
    });
    await this.#deleteEntries(keys);
  }

  /** BatchWriteItem deletes, 25 keys a request; unprocessed keys are sent again, a few times. */
  async #deleteEntries(keys: Item[]): Promise<void> {
    for (let first = 0; first < keys.length; first += 25) {
      let requests = keys.slice(first, first + 25).map((key) => ({ DeleteRequest: { Key: key } }));
      for (let attempt = 0; requests.length > 0; attempt++) {
        if (attempt === BATCH_ATTEMPTS) {
          throw new SystemError(`DynamoDB BatchWriteItem on table ${this.#entries.arn} left ${requests.length} deletes unprocessed after ${BATCH_ATTEMPTS} attempts; try again`);
        }
        if (attempt > 0) await new Promise((resolve) => setTimeout(resolve, 50 * 2 ** attempt));
        const batch = requests;
        const { UnprocessedItems } = await call(this.#entries, "BatchWriteItem", () =>
          this.#client.send(new BatchWriteItemCommand({ RequestItems: { [this.#entries.name]: batch } })),
        );
        requests = (UnprocessedItems?.[this.#entries.name] ?? []).flatMap((request) =>
          request.DeleteRequest?.Key === undefined ? [] : [{ DeleteRequest: { Key: request.DeleteRequest.Key } }],
        );
      }
    }
  }

  /**
   * One UpdateItem that creates the record or moves it on, conditioned on the monotonic rule: not an
   * earlier step than the record's, and not from a final status back to running or waiting. A
   * failed condition is the rule at work, not an error.
   */
  async updateInstance(correlationId: string, update: InstanceUpdate): Promise<void> {
    const now = this.#clock.now();
    const set: Item = {
      machine_name: S(update.machineName),
      status: S(update.status),
      state: S(update.state),
      user_context: S(JSON.stringify(update.userContext)),
      updated_at: N(now),
      steps: N(update.steps),
      ...(update.reason === undefined ? {} : { reason: S(update.reason) }),
      ...(update.leasePrimary === undefined ? {} : { lease_primary: BOOL(update.leasePrimary) }),
      ...(update.fenceToken === undefined ? {} : { fence_token: N(update.fenceToken) }),
      ...(update.abortStep === undefined ? {} : { abort_step: N(update.abortStep) }),
      ...(update.version === undefined ? {} : { version: S(update.version) }),
      ...this.#ttl(now),
    };
    assertItemSize({ ...instanceKey(correlationId), ...set, started_key: S(startedKey(now, correlationId)), started_at: N(now) }, this.#instances.name);
    const values: Record<string, AttributeValue> = Object.fromEntries(Object.entries(set).map(([name, value]) => [`:${name}`, value]));
    values[":started_key"] = S(startedKey(now, correlationId));
    const assignments = [
      ...Object.keys(set).map((name) => `#${name} = :${name}`),
      "#started_at = if_not_exists(#started_at, :updated_at)",
      "#started_key = if_not_exists(#started_key, :started_key)",
    ];
    const resumes = update.status === "running" || update.status === "waiting";
    await this.#update(this.#instances, instanceKey(correlationId), {
      update: `SET ${assignments.join(", ")}${update.reason === undefined ? " REMOVE #reason" : ""}`,
      condition: `attribute_not_exists(#correlation_id) OR (#steps <= :steps${resumes ? ` AND NOT (${IS_FINAL})` : ""})`,
      values: { ...values, ...(resumes ? FINAL : {}) },
    });
  }

  async appendMessage(correlationId: string, message: JournalMessage): Promise<void> {
    await this.#append(correlationId, `m#${pad(message.steps, STEP_DIGITS)}#${sequence(this.#clock.now())}`, message);
  }

  async appendErrors(correlationId: string, errors: JournalErrors): Promise<void> {
    await this.#append(correlationId, `e#${sequence(this.#clock.now())}`, errors);
  }

  async appendAttempt(correlationId: string, attempt: JournalAttempt): Promise<void> {
    const sortKey = `a#${pad(attempt.steps, STEP_DIGITS)}#${pad(attempt.retries, RETRY_DIGITS)}#${sequence(this.#clock.now())}`;
    await this.#append(correlationId, sortKey, attempt);
  }

  async getInstance(correlationId: string): Promise<InstanceRecord | undefined> {
    const item = await getItem(this.#client, this.#instances, instanceKey(correlationId));
    return item === undefined ? undefined : recordOf(item);
  }

  history(correlationId: string): Promise<JournalMessage[]> {
    return this.#entriesOf(correlationId, "m#");
  }

  errors(correlationId: string): Promise<JournalErrors[]> {
    return this.#entriesOf(correlationId, "e#");
  }

  attempts(correlationId: string): Promise<JournalAttempt[]> {
    return this.#entriesOf(correlationId, "a#");
  }

  /**
   * Of one machine: the `by_machine` index in its order (newest started first), a page of keys at a
   * time, each page's records read consistently with BatchGetItem and filtered, until `limit` are
   * found; after a position, the Query starts past its `started_key`, so a deep page costs what
   * the first does. Without a machine: a Scan of the whole table, sorted here; it reads (and is
   * billed for) every record, on every page.
   */
  async list(options: ListOptions): Promise<InstanceRecord[]> {
    const limit = options.limit ?? Number.POSITIVE_INFINITY;
    if (limit <= 0) return [];
    const after = options.after;
    const newestFirst = (a: { startedAt: number; correlationId: string }, b: { startedAt: number; correlationId: string }) =>
      b.startedAt - a.startedAt || compareText(a.correlationId, b.correlationId);
    const wanted = (record: InstanceRecord) =>
      (options.status === undefined || record.status === options.status) &&
      (options.updatedBefore === undefined || record.updatedAt < options.updatedBefore) &&
      (options.version === undefined || (record.version ?? null) === options.version) &&
      (options.state === undefined || record.state === options.state) &&
      (options.idPrefix === undefined || record.correlationId.startsWith(options.idPrefix)) &&
      (after === undefined || newestFirst(after, record) < 0);
    if (options.machineName === undefined) {
      const records = (await this.#scanAll()).map(recordOf).filter(wanted);
      records.sort(newestFirst);
      return records.slice(0, limit);
    }
    const found: InstanceRecord[] = [];
    let start: Item | undefined;
    do {
      const page = await call(this.#instances, "Query", () =>
        this.#client.send(
          new QueryCommand({
            TableName: this.#instances.name,
            IndexName: MACHINE_INDEX,
            ...(after === undefined
              ? {
                  KeyConditionExpression: "#machine_name = :machine",
                  ExpressionAttributeNames: { "#machine_name": "machine_name" },
                  ExpressionAttributeValues: { ":machine": S(options.machineName as string) },
                }
              : {
                  KeyConditionExpression: "#machine_name = :machine AND #started_key > :after",
                  ExpressionAttributeNames: { "#machine_name": "machine_name", "#started_key": "started_key" },
                  ExpressionAttributeValues: { ":machine": S(options.machineName as string), ":after": S(startedKey(after.startedAt, after.correlationId)) },
                }),
            Limit: 100,
            ExclusiveStartKey: start,
          }),
        ),
      );
      const ids = (page.Items ?? []).map((item) => str(item, "correlation_id") ?? "");
      const items = new Map((await this.#batchGet(this.#instances, ids.map(instanceKey))).map((item) => [str(item, "correlation_id"), item]));
      for (const id of ids) {
        const item = items.get(id);
        // Gone since the index listed it, or moved to another machine.
        if (item === undefined || str(item, "machine_name") !== options.machineName) continue;
        const record = recordOf(item);
        if (wanted(record)) found.push(record);
        if (found.length >= limit) return found;
      }
      start = page.LastEvaluatedKey;
    } while (start !== undefined);
    return found;
  }

  /**
   * From a scan: the most recently started instances (at most `ACTIVITY_SCAN_LIMIT`, through
   * {@link list}) and their histories, one Query each, {@link HISTORY_CONCURRENCY} at a time,
   * summed here.
   */
  activity(filter: ActivityFilter): Promise<Activity> {
    return scanActivity(
      {
        list: (machineName, limit) => this.list({ machineName, limit }),
        histories: async (ids) => {
          const histories: JournalMessage[][] = new Array(ids.length);
          let next = 0;
          const worker = async () => {
            for (let index = next++; index < ids.length; index = next++) histories[index] = await this.history(ids[index] as string);
          };
          await Promise.all(Array.from({ length: Math.min(HISTORY_CONCURRENCY, ids.length) }, worker));
          return histories;
        },
      },
      filter,
    );
  }

  /** From the same scan as {@link activity}: the most recently started instances, at most `ACTIVITY_SCAN_LIMIT`. */
  stateCounts(filter: StateCountFilter): Promise<StateCounts> {
    return scanStateCounts((machineName, limit) => this.list({ machineName, limit }), filter);
  }

  async #scanAll(): Promise<Item[]> {
    const items: Item[] = [];
    let start: Item | undefined;
    do {
      const page = await call(this.#instances, "Scan", () =>
        this.#client.send(new ScanCommand({ TableName: this.#instances.name, ConsistentRead: true, ExclusiveStartKey: start })),
      );
      items.push(...(page.Items ?? []));
      start = page.LastEvaluatedKey;
    } while (start !== undefined);
    return items;
  }

  /** The items of `keys` (at most 100) in `table`, read consistently with BatchGetItem, in no order. */
  async #batchGet(table: TableRef, keys: readonly Item[]): Promise<Item[]> {
    const found: Item[] = [];
    let pending = [...keys];
    for (let attempt = 0; pending.length > 0; attempt++) {
      if (attempt === BATCH_ATTEMPTS) {
        throw new SystemError(`DynamoDB BatchGetItem on table ${table.arn} left ${pending.length} keys unprocessed after ${BATCH_ATTEMPTS} attempts; try again`);
      }
      if (attempt > 0) await new Promise((resolve) => setTimeout(resolve, 50 * 2 ** attempt));
      const batch = pending;
      const { Responses, UnprocessedKeys } = await call(table, "BatchGetItem", () =>
        this.#client.send(new BatchGetItemCommand({ RequestItems: { [table.name]: { Keys: batch, ConsistentRead: true } } })),
      );
      found.push(...(Responses?.[table.name] ?? []));
      pending = UnprocessedKeys?.[table.name]?.Keys ?? [];
    }
    return found;
  }

  /** One BatchGetItem, consistent: the record's controls and the machine's pauses. */
  async control(correlationId: string, machineName: string, state: string): Promise<InstanceControl | undefined> {
    const projection = "#status, #steps, #paused, #abort_reason, #abort_at, #abort_step";
    let requests: Record<string, { Keys: Item[]; ConsistentRead: boolean; ProjectionExpression: string; ExpressionAttributeNames: Record<string, string> }> = {
      [this.#instances.name]: { Keys: [instanceKey(correlationId)], ConsistentRead: true, ProjectionExpression: projection, ExpressionAttributeNames: namesOf(projection) },
      [this.#entries.name]: { Keys: [pauseKey(machineName)], ConsistentRead: true, ProjectionExpression: "#states", ExpressionAttributeNames: { "#states": "states" } },
    };
    const items: Record<string, Item | undefined> = {};
    for (let attempt = 0; Object.keys(requests).length > 0; attempt++) {
      if (attempt === BATCH_ATTEMPTS) throw new SystemError(`DynamoDB BatchGetItem on table ${this.#instances.arn} stayed unprocessed after ${BATCH_ATTEMPTS} attempts; try again`);
      if (attempt > 0) await new Promise((resolve) => setTimeout(resolve, 50 * 2 ** attempt));
      const batch = requests;
      const { Responses, UnprocessedKeys } = await call(this.#instances, "BatchGetItem", () => this.#client.send(new BatchGetItemCommand({ RequestItems: batch })));
      for (const [table, found] of Object.entries(Responses ?? {})) items[table] = found[0];
      requests = Object.fromEntries(
        Object.entries(UnprocessedKeys ?? {}).flatMap(([table, unprocessed]) => (unprocessed.Keys?.length ? [[table, batch[table]]] : [])),
      ) as typeof requests;
    }
    const instance = items[this.#instances.name];
    if (instance === undefined) return undefined;
    const states = stringSet(items[this.#entries.name], "states");
    const row = rowOf(instance);
    return instanceControlOf({
      status: row.status,
      steps: row.steps ?? 0,
      paused: row.paused ?? false,
      held_by_rule: states.includes(EVERY) || states.includes(encodeState(state)),
      abort_reason: row.abort_reason,
      abort_at: row.abort_at,
      abort_step: row.abort_step,
    });
  }

  /**
   * Whether an abort was asked and not yet taken (the fused path's gate, see transitions.ts): one
   * consistent GetItem of the instance's record, where {@link control} also reads the machine's pauses.
   */
  async abortPending(correlationId: string): Promise<boolean> {
    const item = await getItem(this.#client, this.#instances, instanceKey(correlationId), "abort_reason, abort_step");
    return str(item, "abort_reason") !== undefined && num(item, "abort_step") === undefined;
  }

  async requestAbort(correlationId: string, reason: string, at: number): Promise<boolean> {
    const output = await this.#update(this.#instances, instanceKey(correlationId), {
      update: "SET #abort_reason = :reason, #abort_at = :at",
      condition: `attribute_exists(#correlation_id) AND attribute_not_exists(#abort_reason) AND NOT (${IS_FINAL})`,
      values: { ":reason": S(reason), ":at": N(at), ...FINAL },
    });
    return output !== undefined;
  }

  /** Pausing removes the record's TTL (a paused instance is kept); resuming sets it again. */
  async setPaused(correlationId: string, paused: boolean): Promise<boolean> {
    const ttl = paused ? {} : this.#ttl(this.#clock.now());
    const output = await this.#update(this.#instances, instanceKey(correlationId), {
      update: paused ? `SET #paused = :paused REMOVE #${TTL_ATTRIBUTE}` : `SET #paused = :paused${TTL_ATTRIBUTE in ttl ? `, #${TTL_ATTRIBUTE} = :ttl` : ""}`,
      condition: "attribute_exists(#correlation_id)",
      values: { ":paused": BOOL(paused), ...(ttl[TTL_ATTRIBUTE] === undefined ? {} : { ":ttl": ttl[TTL_ATTRIBUTE] }) },
    });
    return output !== undefined;
  }

  async addPause(rule: PauseRule): Promise<void> {
    await this.#update(this.#entries, pauseKey(rule.machineName), {
      update: "SET #machine_name = :machine ADD #states :state",
      values: { ":machine": S(rule.machineName), ":state": { SS: [encodeState(rule.state)] } },
    });
  }

  async removePause(rule: PauseRule): Promise<boolean> {
    const state = encodeState(rule.state);
    const output = await this.#update(this.#entries, pauseKey(rule.machineName), {
      update: "DELETE #states :states",
      condition: "contains(#states, :state)",
      values: { ":states": { SS: [state] }, ":state": S(state) },
    });
    return output !== undefined;
  }

  async pauses(): Promise<PauseRule[]> {
    const items = await this.#queryAll(this.#entries, {
      KeyConditionExpression: "#pk = :pk",
      ExpressionAttributeValues: { ":pk": S(PAUSES) },
    });
    const rows = items.flatMap((item) =>
      stringSet(item, "states").map((state) => ({ machine_name: str(item, "machine_name") ?? str(item, "sk") ?? "", state: decodeState(state) })),
    );
    rows.sort((a, b) => compareText(a.machine_name, b.machine_name) || compareText(a.state, b.state));
    return rows.map(pauseRuleOf);
  }

  /**
   * Parking is one transaction with the pause check: the message's item, its pointer, and its key
   * added to the record's `parked_keys` under the condition that the instance is paused. If it is
   * not, a second transaction writes the same under a ConditionCheck on the machine's pause item (a
   * pause at every state, or at the message's state); a record that does not exist (a message of
   * an instance the journal never saw) is left out of it, as the SQL journals leave it. False,
   * writing nothing, when no pause holds. The key set keeps the `parked` count exact: parking a step
   * again replaces its item and leaves the count alone.
   */
  async park(message: ParkedMessage): Promise<boolean> {
    const { correlationId, machineName, steps, retries } = message;
    const item: Item = {
      ...parkedItemKey(machineName, correlationId, steps, retries),
      correlation_id: S(correlationId),
      machine_name: S(machineName),
      state: S(message.state),
      steps: N(steps),
      retries: N(retries),
      body: S(message.body),
      parked_at: N(message.parkedAt),
    };
    assertItemSize(item, this.#entries.name);
    const puts: TransactWriteItem[] = [
      { Put: { TableName: this.#entries.name, Item: item } },
      { Put: { TableName: this.#entries.name, Item: { ...pointerKey(correlationId, steps, retries), machine_name: S(machineName), steps: N(steps), retries: N(retries) } } },
    ];
    const count = (condition: string): TransactWriteItem =>
      this.#updateInTransaction(correlationId, `ADD #parked_keys :key REMOVE #${TTL_ATTRIBUTE}`, condition, {
        ":key": { SS: [parkedKey(steps, retries)] },
        ...(condition.includes(":true") ? { ":true": BOOL(true) } : {}),
      });
    const own = await this.#transact("park", [count("#paused = :true"), ...puts]);
    if (own === undefined) return true;
    if (own[0] !== "ConditionalCheckFailed") throw this.#cancelled("park", own);
    const ruleCondition = "contains(#states, :every) OR contains(#states, :state)";
    const rule: TransactWriteItem = {
      ConditionCheck: {
        TableName: this.#entries.name,
        Key: pauseKey(machineName),
        ConditionExpression: ruleCondition,
        ExpressionAttributeNames: namesOf(ruleCondition),
        ExpressionAttributeValues: { ":every": S(EVERY), ":state": S(encodeState(message.state)) },
      },
    };
    const byRule = await this.#transact("park", [rule, ...puts, count("attribute_exists(#correlation_id)")]);
    if (byRule === undefined) return true;
    if (byRule[0] === "ConditionalCheckFailed") return false;
    if (byRule[3] !== "ConditionalCheckFailed") throw this.#cancelled("park", byRule);
    const unrecorded = await this.#transact("park", [rule, ...puts]);
    if (unrecorded === undefined) return true;
    if (unrecorded[0] === "ConditionalCheckFailed") return false;
    throw this.#cancelled("park", unrecorded);
  }

  /** An Update of the instance's record, as one item of a transaction. */
  #updateInTransaction(correlationId: string, update: string, condition: string, values: Record<string, AttributeValue>): TransactWriteItem {
    return {
      Update: {
        TableName: this.#instances.name,
        Key: instanceKey(correlationId),
        UpdateExpression: update,
        ConditionExpression: condition,
        ExpressionAttributeNames: namesOf(update, condition),
        ExpressionAttributeValues: values,
      },
    };
  }

  /** TransactWriteItems: undefined when it was written, else each item's cancellation code. */
  async #transact(operation: string, items: TransactWriteItem[]): Promise<string[] | undefined> {
    try {
      await this.#client.send(new TransactWriteItemsCommand({ TransactItems: items }));
      return undefined;
    } catch (error) {
      if (errorName(error) !== "TransactionCanceledException") throw translate(error, this.#instances, `TransactWriteItems (${operation})`);
      const reasons = (error as { CancellationReasons?: Array<{ Code?: string }> }).CancellationReasons ?? [];
      return items.map((_, index) => reasons[index]?.Code ?? "None");
    }
  }

  /** A transaction cancelled for another reason than a condition (a conflicting transaction, throttling). */
  #cancelled(operation: string, reasons: readonly string[]): SystemError {
    return new SystemError(`DynamoDB TransactWriteItems (${operation}) on table ${this.#instances.arn} was cancelled: ${reasons.join(", ")}; try again`);
  }

  /**
   * A machine's: one consistent Query of its partition. An instance's: its pointers (one consistent
   * Query of its entries), then the messages they point to (BatchGetItem, consistent).
   */
  async parkedMessages(filter: { readonly correlationId: string } | { readonly machineName: string; readonly state?: string | undefined }): Promise<ParkedMessage[]> {
    let items: Item[];
    if ("correlationId" in filter) {
      const pointers = await this.#queryAll(this.#entries, {
        KeyConditionExpression: "#pk = :pk AND begins_with(#sk, :prefix)",
        ExpressionAttributeValues: { ":pk": S(entriesOf(filter.correlationId)), ":prefix": S("p#") },
      });
      const keys = pointers.map((pointer) =>
        parkedItemKey(str(pointer, "machine_name") ?? "", filter.correlationId, num(pointer, "steps") ?? 0, num(pointer, "retries") ?? 0),
      );
      items = [];
      for (let first = 0; first < keys.length; first += 100) items.push(...(await this.#batchGet(this.#entries, keys.slice(first, first + 100))));
    } else {
      items = await this.#queryAll(this.#entries, {
        KeyConditionExpression: "#pk = :pk",
        ExpressionAttributeValues: { ":pk": S(parkedPartition(filter.machineName)) },
      });
      if (filter.state !== undefined) items = items.filter((item) => str(item, "state") === filter.state);
    }
    return items.map(parkedOf).sort(byParkedAt);
  }

  /**
   * The pointer says where the message is (one GetItem); then one transaction: the message and its
   * pointer go, and its key leaves the record's `parked_keys` (a second one without the record, if
   * there is none).
   */
  async unpark(correlationId: string, steps: number, retries: number): Promise<void> {
    const pointer = await getItem(this.#client, this.#entries, pointerKey(correlationId, steps, retries), "machine_name");
    const machine = str(pointer, "machine_name");
    if (machine === undefined) return;
    const deletes: TransactWriteItem[] = [
      { Delete: { TableName: this.#entries.name, Key: parkedItemKey(machine, correlationId, steps, retries) } },
      {
        Delete: {
          TableName: this.#entries.name,
          Key: pointerKey(correlationId, steps, retries),
          // Still the message this call found (not unparked and parked again elsewhere meanwhile).
          ConditionExpression: "#machine_name = :machine",
          ExpressionAttributeNames: { "#machine_name": "machine_name" },
          ExpressionAttributeValues: { ":machine": S(machine) },
        },
      },
    ];
    const uncount = this.#updateInTransaction(correlationId, "DELETE #parked_keys :key", "attribute_exists(#correlation_id)", {
      ":key": { SS: [parkedKey(steps, retries)] },
    });
    const reasons = await this.#transact("unpark", [...deletes, uncount]);
    if (reasons === undefined || reasons[1] === "ConditionalCheckFailed") return;
    if (reasons[2] !== "ConditionalCheckFailed") throw this.#cancelled("unpark", reasons);
    const unrecorded = await this.#transact("unpark", deletes);
    if (unrecorded === undefined || unrecorded[1] === "ConditionalCheckFailed") return;
    throw this.#cancelled("unpark", unrecorded);
  }

  async reopen(correlationId: string, steps: number): Promise<boolean> {
    const now = this.#clock.now();
    const ttl = this.#ttl(now)[TTL_ATTRIBUTE];
    const output = await this.#update(this.#instances, instanceKey(correlationId), {
      update: `SET #status = :running, #steps = :steps, #updated_at = :now${ttl === undefined ? "" : `, #${TTL_ATTRIBUTE} = :ttl`} REMOVE #reason`,
      condition: "#status = :failed",
      values: { ":running": S("running"), ":steps": N(steps), ":now": N(now), ":failed": S("failed"), ...(ttl === undefined ? {} : { ":ttl": ttl }) },
    });
    return output !== undefined;
  }

  /**
   * A PutItem per version, conditioned on a free key (an existing version keeps its item), one after
   * the other: a version given twice in one call is new only the first time.
   */
  async registerDefinitions(records: readonly DefinitionRecord[]): Promise<boolean[]> {
    const stored: boolean[] = [];
    for (const record of records) {
      const item: Item = {
        ...definitionKey(record.machineName, record.version),
        machine_name: S(record.machineName),
        version: S(record.version),
        ...(record.label === undefined ? {} : { label: S(record.label) }),
        document: S(JSON.stringify(record.document)),
        deployed_at: N(record.deployedAt),
      };
      assertItemSize(item, this.#entries.name);
      const put = await conditional(this.#entries, "PutItem", () =>
        this.#client.send(
          new PutItemCommand({ TableName: this.#entries.name, Item: item, ConditionExpression: "attribute_not_exists(#pk)", ExpressionAttributeNames: { "#pk": "pk" } }),
        ),
      );
      stored.push(put !== undefined);
    }
    return stored;
  }

  /** One consistent Query of the registry's partition (of the machine's keys, when given), sorted here. */
  async definitionVersions(machineName?: string): Promise<DefinitionRecord[]> {
    const items = await this.#registryItems(DEFINITIONS, machineName);
    return items
      .map(definitionOf)
      .sort((a, b) => compareText(a.machineName, b.machineName) || b.deployedAt - a.deployedAt || compareText(a.version, b.version));
  }

  async getDefinition(machineName: string, version: string): Promise<DefinitionRecord | undefined> {
    const item = await getItem(this.#client, this.#entries, definitionKey(machineName, version));
    return item === undefined ? undefined : definitionOf(item);
  }

  /**
   * The machine's migration orders from or to the version are read (one Query), then one
   * transaction deletes the version (conditioned on its existence: false, deleting nothing, when it
   * is not registered) and those orders (each conditioned on its target as read; an order replaced
   * meanwhile cancels it, and it is tried again).
   */
  async deleteDefinition(machineName: string, version: string): Promise<boolean> {
    for (let attempt = 0; attempt < DELETE_ATTEMPTS; attempt++) {
      const orders = (await this.#registryItems(ORDERS, machineName)).map(orderOf).filter((order) => order.from === version || order.to === version);
      const items: TransactWriteItem[] = [
        {
          Delete: {
            TableName: this.#entries.name,
            Key: definitionKey(machineName, version),
            ConditionExpression: "attribute_exists(#pk)",
            ExpressionAttributeNames: { "#pk": "pk" },
          },
        },
        ...orders.map((order) => ({
          Delete: {
            TableName: this.#entries.name,
            Key: orderKey(order.machineName, order.from),
            ConditionExpression: "#to = :to",
            ExpressionAttributeNames: { "#to": "to" },
            ExpressionAttributeValues: { ":to": S(order.to) },
          },
        })),
      ];
      if (items.length > TRANSACTION_ITEMS) {
        throw new SystemError(
          `DynamoDB cannot delete version ${version} of machine ${machineName} in one transaction: ${orders.length} migration orders name it (at most ${TRANSACTION_ITEMS - 1}); delete some of them first`,
        );
      }
      const reasons = await this.#transact("delete definition", items);
      if (reasons === undefined) return true;
      if (reasons[0] === "ConditionalCheckFailed") return false;
      if (!reasons.includes("ConditionalCheckFailed")) throw this.#cancelled("delete definition", reasons);
    }
    throw new SystemError(`DynamoDB TransactWriteItems (delete definition) on table ${this.#entries.arn}: the migration orders of machine ${machineName} kept changing; try again`);
  }

  /**
   * From a Scan, not an index: every record of the instances table is read (projected on machine,
   * version, status and pause), consistently, and billed, on every call; of one machine, filtered on
   * the server (still a whole-table Scan). Counted here.
   */
  async versionCounts(machineName?: string): Promise<VersionCount[]> {
    const projection = "#machine_name, #version, #status, #paused, #parked_keys";
    const filter = machineName === undefined ? undefined : "#machine_name = :machine";
    const counts = new Map<string, VersionCount>();
    let start: Item | undefined;
    do {
      const page = await call(this.#instances, "Scan", () =>
        this.#client.send(
          new ScanCommand({
            TableName: this.#instances.name,
            ConsistentRead: true,
            ProjectionExpression: projection,
            FilterExpression: filter,
            ExpressionAttributeNames: namesOf(projection, filter),
            ...(machineName === undefined ? {} : { ExpressionAttributeValues: { ":machine": S(machineName) } }),
            ExclusiveStartKey: start,
          }),
        ),
      );
      for (const item of page.Items ?? []) {
        const row = rowOf(item);
        const held = (row.status === "running" || row.status === "waiting") && (Boolean(row.paused) || Number(row.parked) > 0);
        const status: InstanceStatus = held ? "paused" : row.status;
        const version = str(item, "version") ?? null;
        const key = JSON.stringify([row.machine_name, version, status]);
        const before = counts.get(key) ?? { machineName: row.machine_name, version, status, count: 0 };
        counts.set(key, { ...before, count: before.count + 1 });
      }
      start = page.LastEvaluatedKey;
    } while (start !== undefined);
    return [...counts.values()].sort(
      (a, b) => compareText(a.machineName, b.machineName) || compareVersions(a.version, b.version) || compareText(a.status, b.status),
    );
  }

  /** One PutItem under the machine and `from`: a later order from the same version overwrites it. */
  async addMigrationOrder(order: MigrationOrder): Promise<void> {
    const item: Item = {
      ...orderKey(order.machineName, order.from),
      machine_name: S(order.machineName),
      ...(order.from === null ? {} : { from: S(order.from) }),
      to: S(order.to),
      at: N(order.at),
    };
    await call(this.#entries, "PutItem", () => this.#client.send(new PutItemCommand({ TableName: this.#entries.name, Item: item })));
  }

  /** One consistent Query of the orders' partition (of the machine's keys, when given), sorted here. */
  async migrationOrders(machineName?: string): Promise<MigrationOrder[]> {
    const items = await this.#registryItems(ORDERS, machineName);
    return items.map(orderOf).sort((a, b) => compareText(a.machineName, b.machineName) || compareVersions(a.from, b.from));
  }

  /**
   * One transaction: the record's Update, conditioned on its version, step and status, and the Put
   * of its history entry. With `journal_ttl_days` the record's TTL is renewed unless the instance is
   * paused (a paused one is kept), so that is two conditions tried in turn: not paused (renewing),
   * then paused (not renewing). False, writing nothing, when neither holds.
   */
  async migrateInstance(correlationId: string, move: InstanceMove): Promise<boolean> {
    const now = this.#clock.now();
    const entry: Item = {
      pk: S(entriesOf(correlationId)),
      sk: S(`m#${pad(move.entry.steps, STEP_DIGITS)}#${sequence(now)}`),
      body: S(JSON.stringify(move.entry)),
      ...this.#ttl(now),
    };
    assertItemSize(entry, this.#entries.name);
    const ttl = this.#ttl(now)[TTL_ATTRIBUTE];
    const values: Record<string, AttributeValue> = {
      ":steps": N(move.steps),
      ":running": S("running"),
      ":waiting": S("waiting"),
      ":version": S(move.toVersion),
      ":state": S(move.state),
      ":user_context": S(JSON.stringify(move.userContext)),
      ":now": N(now),
      ...(move.fromVersion === null ? {} : { ":from": S(move.fromVersion) }),
    };
    const onVersion = move.fromVersion === null ? "attribute_not_exists(#version)" : "#version = :from";
    const held = `attribute_exists(#correlation_id) AND #steps = :steps AND #status IN (:running, :waiting) AND ${onVersion}`;
    const set = "SET #version = :version, #state = :state, #user_context = :user_context, #updated_at = :now";
    const tries =
      ttl === undefined
        ? [{ update: set, condition: held, values }]
        : [
            { update: `${set}, #${TTL_ATTRIBUTE} = :ttl`, condition: `${held} AND NOT #paused = :true`, values: { ...values, ":ttl": ttl, ":true": BOOL(true) } },
            { update: set, condition: `${held} AND #paused = :true`, values: { ...values, ":true": BOOL(true) } },
          ];
    // What the record's new context alone takes: a record over the limit is refused before any call.
    assertItemSize({ ...instanceKey(correlationId), user_context: values[":user_context"] as AttributeValue }, this.#instances.name);
    for (const { update, condition, values: given } of tries) {
      const record = this.#updateInTransaction(correlationId, update, condition, given);
      const reasons = await this.#transact("migrate instance", [record, { Put: { TableName: this.#entries.name, Item: entry } }]);
      if (reasons === undefined) return true;
      if (reasons[0] !== "ConditionalCheckFailed") throw this.#cancelled("migrate instance", reasons);
    }
    return false;
  }

  /** Every item of a registry partition, of one machine's keys when given (held to the machine: a name may be another's prefix). */
  async #registryItems(partition: string, machineName?: string): Promise<Item[]> {
    const items = await this.#queryAll(this.#entries, {
      KeyConditionExpression: machineName === undefined ? "#pk = :pk" : "#pk = :pk AND begins_with(#sk, :prefix)",
      ExpressionAttributeValues: { ":pk": S(partition), ...(machineName === undefined ? {} : { ":prefix": S(`${machineName}#`) }) },
    });
    return machineName === undefined ? items : items.filter((item) => str(item, "machine_name") === machineName);
  }
}
