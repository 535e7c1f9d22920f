/**
 * The shape of each table of a DynamoDB family, as data: key schema, indexes, stream, and which
 * tables carry the TTL attribute. `resources create` (tables.ts) creates the tables from it, and
 * the CloudFormation template (`switchyard template`) declares the same tables from it, so the two
 * never differ. Type imports only: nothing here loads the AWS SDK.
 */
import type { CreateTableCommandInput } from "@aws-sdk/client-dynamodb";

/** The tables of a family, by role. */
export const TABLE_KINDS = ["stream", "retry", "cache", "checkpoint", "environment", "dead-letters", "leases", "instances", "journal"] as const;
export type TableKind = (typeof TABLE_KINDS)[number];

/** The stream table's due index (and the retry table's of earlier versions): constant `gsi_pk`, sorted by `visible_at`. */
export const DUE_INDEX = "due";
/** The retry table's local index (`partition`, `run_at`): the seed system's, which its timer queries. */
export const RETRY_INDEX = "retries";
/** The stream table's index by instance, for `pending(correlationId)` and per-instance receives. */
export const CORRELATION_INDEX = "by_correlation";
/** The instances table's index by machine (`machine_name`, `started_key`: newest started first), KEYS_ONLY. */
export const MACHINE_INDEX = "by_machine";
/** The constant partition of the due index. */
export const DUE_PARTITION = "due";
/** The TTL attribute (epoch seconds) of the tables that have one; clean-up only, never a decision. */
export const TTL_ATTRIBUTE = "expires_ttl";

const S = "S" as const;
const N = "N" as const;
const dueIndex = {
  IndexName: DUE_INDEX,
  KeySchema: [
    { AttributeName: "gsi_pk", KeyType: "HASH" as const },
    { AttributeName: "visible_at", KeyType: "RANGE" as const },
  ],
  Projection: { ProjectionType: "KEYS_ONLY" as const },
};

/** CreateTable input (without the name and billing mode) of each kind. */
export function tableDefinition(kind: TableKind): Omit<CreateTableCommandInput, "TableName"> {
  const hashOnly = {
    AttributeDefinitions: [{ AttributeName: "pk", AttributeType: S }],
    KeySchema: [{ AttributeName: "pk", KeyType: "HASH" as const }],
  };
  switch (kind) {
    case "stream":
      return {
        AttributeDefinitions: [
          { AttributeName: "pk", AttributeType: S },
          { AttributeName: "gsi_pk", AttributeType: S },
          { AttributeName: "visible_at", AttributeType: N },
          { AttributeName: "correlation_id", AttributeType: S },
        ],
        KeySchema: [{ AttributeName: "pk", KeyType: "HASH" }],
        GlobalSecondaryIndexes: [
          dueIndex,
          {
            IndexName: CORRELATION_INDEX,
            KeySchema: [
              { AttributeName: "correlation_id", KeyType: "HASH" },
              { AttributeName: "visible_at", KeyType: "RANGE" },
            ],
            Projection: { ProjectionType: "KEYS_ONLY" },
          },
        ],
        StreamSpecification: { StreamEnabled: true, StreamViewType: "NEW_IMAGE" },
      };
    case "retry":
      // The seed system's retry table, exactly: seed processes and Switchyard share it.
      return {
        AttributeDefinitions: [
          { AttributeName: "partition", AttributeType: N },
          { AttributeName: "correlation_id_steps", AttributeType: S },
          { AttributeName: "run_at", AttributeType: N },
        ],
        KeySchema: [
          { AttributeName: "partition", KeyType: "HASH" },
          { AttributeName: "correlation_id_steps", KeyType: "RANGE" },
        ],
        LocalSecondaryIndexes: [
          {
            IndexName: RETRY_INDEX,
            KeySchema: [
              { AttributeName: "partition", KeyType: "HASH" },
              { AttributeName: "run_at", KeyType: "RANGE" },
            ],
            Projection: { ProjectionType: "ALL" },
          },
        ],
      };
    case "leases":
    case "journal":
      return {
        AttributeDefinitions: [
          { AttributeName: "pk", AttributeType: S },
          { AttributeName: "sk", AttributeType: S },
        ],
        KeySchema: [
          { AttributeName: "pk", KeyType: "HASH" },
          { AttributeName: "sk", KeyType: "RANGE" },
        ],
      };
    case "instances":
      return {
        AttributeDefinitions: [
          { AttributeName: "correlation_id", AttributeType: S },
          { AttributeName: "machine_name", AttributeType: S },
          { AttributeName: "started_key", AttributeType: S },
        ],
        KeySchema: [{ AttributeName: "correlation_id", KeyType: "HASH" }],
        // Keys only: its keys never change after the start, so updating an instance writes no index item.
        GlobalSecondaryIndexes: [
          {
            IndexName: MACHINE_INDEX,
            KeySchema: [
              { AttributeName: "machine_name", KeyType: "HASH" },
              { AttributeName: "started_key", KeyType: "RANGE" },
            ],
            Projection: { ProjectionType: "KEYS_ONLY" },
          },
        ],
      };
    case "dead-letters":
      return {
        AttributeDefinitions: [
          { AttributeName: "pk", AttributeType: S },
          { AttributeName: "sk", AttributeType: N },
        ],
        KeySchema: [
          { AttributeName: "pk", KeyType: "HASH" },
          { AttributeName: "sk", KeyType: "RANGE" },
        ],
      };
    default:
      return hashOnly;
  }
}

/**
 * Kinds whose items carry the TTL attribute. The journal's tables get TTL whether or not the URI
 * sets `journal_ttl_days`: an item without the attribute is never expired, and the setting can then
 * be turned on later without touching the tables.
 */
export const WITH_TTL: ReadonlySet<TableKind> = new Set(["cache", "environment", "instances", "journal"]);

/** Whether the table of `kind` has a DynamoDB stream (the stream table: Lambda triggers on its inserts). */
export function hasStream(kind: TableKind): boolean {
  return tableDefinition(kind).StreamSpecification?.StreamEnabled === true;
}
