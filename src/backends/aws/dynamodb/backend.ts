/**
 * DynamoDB for every role it serves, and the instance journal: the factory the settings loader calls
 * for `arn:aws:dynamodb:REGION:ACCOUNT:table/NAME` (optionally `?journal_ttl_days=N`, see uri.ts).
 * The ARN names a family of tables (`NAME-stream`, `NAME-retry`, `NAME-cache`, `NAME-checkpoint`,
 * `NAME-environment`, `NAME-dead-letters`, `NAME-leases`, `NAME-instances`, `NAME-journal`; see
 * tables.ts) that `switchyard resources create` makes with `provision()`. One client is shared.
 */
import { SettingsError } from "../../../errors.js";
import type { Side } from "../../../ports.js";
import type { Backend, BackendContext, FusedPorts } from "../../backend.js";
import { parseArn, resourceName } from "../arn.js";
import { DynamoCache } from "./cache.js";
import { DynamoCheckpointStore } from "./checkpoint-store.js";
import { createDynamoDbClient } from "./client.js";
import { DynamoConsumerState } from "./consumer-state.js";
import { DynamoDeadLetters } from "./dead-letters.js";
import { DynamoEnvironment } from "./environment-store.js";
import { DynamoJournal } from "./journal.js";
import type { QueueLayout, QueueOptions } from "./queue.js";
import { DynamoRetryStore, retryLayoutOf } from "./retry-store.js";
import { DynamoStream, STREAM_LAYOUT } from "./stream.js";
import { provisionFamily, type TableFamily, tableFamily } from "./tables.js";
import { DynamoTransitions } from "./transitions.js";
import { parseDynamoDbUri } from "./uri.js";

/** The longest suffix a family adds to NAME (`-dead-letters`); table names hold at most 255 characters. */
const MAX_BASE_LENGTH = 255 - "-dead-letters".length;

/** The DynamoDB backend of one table family. */
export interface DynamoDbBackend extends Backend {
  readonly tables: TableFamily;
  stream(side?: Side): DynamoStream;
  retry(side?: Side): DynamoRetryStore;
  cache(): DynamoCache;
  checkpoint(): DynamoCheckpointStore;
  environment(): DynamoEnvironment;
  consumerState(): DynamoConsumerState;
  journal(): DynamoJournal;
  transitionsOver(ports: FusedPorts): DynamoTransitions;
  readonly deadLetters: DynamoDeadLetters;
  provision(): Promise<string[]>;
}

/**
 * Open the table family an ARN names. Opening makes no call; a missing table shows up at the first
 * call as `DynamoDB table … does not exist; run switchyard resources create --settings FILE`.
 *
 * @example
 * ```ts
 * const backend = await openDynamoDbBackend("arn:aws:dynamodb:us-east-1:123456789012:table/orders", context);
 * await backend.provision?.();
 * ```
 */
export async function openDynamoDbBackend(uri: string, context: BackendContext): Promise<DynamoDbBackend> {
  // The ports, and Lambda's routing of records to them, know the family by its ARN alone.
  const { arn: familyArn, journalTtlDays } = parseDynamoDbUri(uri);
  const arn = parseArn(familyArn, "dynamodb");
  const base = resourceName(arn, "table");
  if (!/^[A-Za-z0-9_.-]{1,242}$/.test(base) || base.length > MAX_BASE_LENGTH) {
    throw new SettingsError(
      `DynamoDB ARN "${uri}" names table "${base}"; use 1-${MAX_BASE_LENGTH} of A-Z a-z 0-9 _ . - (the backend adds suffixes such as -stream)`,
    );
  }
  const client = createDynamoDbClient(arn, context);
  const tables = tableFamily(arn, base);
  const { clock } = context;
  const deadLetters = new DynamoDeadLetters(client, tables["dead-letters"], clock);
  const streamLabel = new Date(clock.now()).toISOString().slice(0, 23);
  // The retry table's layout is read from its key schema once (a failed read is tried again).
  let retryLayout: Promise<QueueLayout> | undefined;
  const layouts = {
    stream: async () => STREAM_LAYOUT,
    retry: () => {
      if (retryLayout === undefined) {
        const attempt = retryLayoutOf(client, tables.retry);
        retryLayout = attempt;
        attempt.catch(() => {
          if (retryLayout === attempt) retryLayout = undefined;
        });
      }
      return retryLayout;
    },
  };
  const queue = (kind: "stream" | "retry", side: Side): QueueOptions => ({
    client,
    table: tables[kind],
    uri: familyArn,
    region: arn.region,
    side,
    clock,
    deadLetters,
    streamLabel,
    layout: layouts[kind],
  });
  return {
    uri,
    tables,
    deadLetters,
    stream: (side: Side = "primary") => new DynamoStream(queue("stream", side)),
    retry: (side: Side = "primary") => new DynamoRetryStore(queue("retry", side)),
    cache: () => new DynamoCache(client, tables.cache, familyArn, clock),
    transitionsOver: (ports) => new DynamoTransitions(new DynamoCache(client, tables.cache, familyArn, clock), ports),
    checkpoint: () => new DynamoCheckpointStore(client, tables.checkpoint, familyArn, clock),
    environment: () => new DynamoEnvironment(client, tables.environment, familyArn, clock),
    consumerState: () => new DynamoConsumerState(client, tables.leases, deadLetters, familyArn),
    journal: () =>
      new DynamoJournal({ client, instances: tables.instances, entries: tables.journal, uri: familyArn, clock, ttlDays: journalTtlDays }),
    provision: () => provisionFamily(client, tables),
    close: async () => client.destroy(),
  };
}
