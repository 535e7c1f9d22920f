/**
 * The `cache` role on the `NAME-cache` table: one item per instance (`pk` = correlation id) holding
 * its lease (`lease_steps`, `lease_retries`, `fence_token`, `expires_at`, `released`) and its
 * dispatched high-water mark (`dispatched_steps`, `dispatched_until`). A lease is taken with one
 * conditional UpdateItem that also adds 1 to the fence token; it is released only by its owner.
 * Every decision compares with the injected clock; `expires_ttl` only lets DynamoDB clean up.
 */
import {
  type DynamoDBClient,
  UpdateItemCommand,
  type UpdateItemCommandInput,
  type UpdateItemCommandOutput,
} from "@aws-sdk/client-dynamodb";
import { SystemError } from "../../../errors.js";
import type { CachePort, Clock, LeaseResult } from "../../../ports.js";
import { call, conditional, getItem, type TableRef } from "./client.js";
import { BOOL, type Item, N, num, S } from "./item.js";

/** Items outlive their lease and mark by this long before TTL may delete them. */
const TTL_GRACE_SECONDS = 7 * 24 * 3600;

/** Cache port over the `NAME-cache` table. */
export class DynamoCache implements CachePort {
  readonly uri: string;
  readonly #client: DynamoDBClient;
  readonly #table: TableRef;
  readonly #clock: Clock;

  constructor(client: DynamoDBClient, table: TableRef, uri: string, clock: Clock) {
    this.uri = uri;
    this.#client = client;
    this.#table = table;
    this.#clock = clock;
  }

  /** UpdateItem on the item of `correlationId`. */
  #update(correlationId: string, input: Omit<UpdateItemCommandInput, "TableName" | "Key">): Promise<UpdateItemCommandOutput> {
    return this.#client.send(new UpdateItemCommand({ TableName: this.#table.name, Key: { pk: S(correlationId) }, ...input }));
  }

  #ttl(untilMs: number): number {
    return Math.ceil(untilMs / 1000) + TTL_GRACE_SECONDS;
  }

  async acquireLease(correlationId: string, steps: number, retries: number, timeoutSeconds: number, minFenceToken = 0): Promise<LeaseResult> {
    return (await this.#takeLease(correlationId, steps, retries, timeoutSeconds, minFenceToken)).lease;
  }

  /**
   * The lease, as {@link acquireLease} takes it, and whether step `steps` is marked dispatched
   * ({@link isDispatched}) on the item the lease's write returned: one UpdateItem for both, where
   * the separate calls take an UpdateItem and a GetItem. The flag is false when the lease was not taken.
   */
  async acquireLeaseAndFlag(
    correlationId: string,
    steps: number,
    retries: number,
    timeoutSeconds: number,
    minFenceToken = 0,
  ): Promise<{ readonly lease: LeaseResult; readonly dispatched: boolean }> {
    const { lease, item } = await this.#takeLease(correlationId, steps, retries, timeoutSeconds, minFenceToken);
    return { lease, dispatched: lease.acquired && this.#marked(item, steps) };
  }

  async #takeLease(
    correlationId: string,
    steps: number,
    retries: number,
    timeoutSeconds: number,
    minFenceToken: number,
  ): Promise<{ readonly lease: LeaseResult; readonly item?: Item | undefined }> {
    const now = this.#clock.now();
    const expiresAt = now + timeoutSeconds * 1000;
    const output = await conditional(this.#table, "UpdateItem", () =>
      this.#update(correlationId, {
        UpdateExpression:
          "SET lease_steps = :steps, lease_retries = :retries, expires_at = :expires, released = :false, expires_ttl = :ttl ADD fence_token :one",
        // Free if never leased, expired, or released (as in the SQLite cache, expiry is strict).
        ConditionExpression: "attribute_not_exists(lease_steps) OR expires_at < :now OR released = :true",
        ExpressionAttributeValues: {
          ":steps": N(steps),
          ":retries": N(retries),
          ":expires": N(expiresAt),
          ":false": BOOL(false),
          ":true": BOOL(true),
          ":ttl": N(this.#ttl(expiresAt)),
          ":one": N(1),
          ":now": N(now),
        },
        ReturnValues: "ALL_NEW",
      }),
    );
    if (output !== undefined) {
      const token = num(output.Attributes, "fence_token") ?? 1;
      const fenceToken = token > minFenceToken ? token : await this.#raiseFence(correlationId, token, minFenceToken + 1);
      return { lease: { acquired: true, fenceToken }, item: output.Attributes };
    }
    const Item = await getItem(this.#client, this.#table, { pk: S(correlationId) }, "expires_at");
    return { lease: { acquired: false, heldUntil: num(Item, "expires_at") } };
  }

  /**
   * The lease was just taken with `taken`, below the token the message carries (the counter was
   * behind: the lease used to live on the other cache). Raise it to `to` while the lease is ours;
   * an update expression has no max(), hence this second, conditional write.
   */
  async #raiseFence(correlationId: string, taken: number, to: number): Promise<number> {
    const output = await conditional(this.#table, "UpdateItem", () =>
      this.#update(correlationId, {
        UpdateExpression: "SET fence_token = :to",
        ConditionExpression: "fence_token = :taken AND released = :false",
        ExpressionAttributeValues: { ":to": N(to), ":taken": N(taken), ":false": BOOL(false) },
      }),
    );
    if (output === undefined) throw new SystemError(`DynamoDB table ${this.#table.name}: lost the lease of ${correlationId} while raising its fence token to ${to}; try again`);
    return to;
  }

  async raiseFence(correlationId: string, fenceToken: number): Promise<void> {
    // A counter at or above the token fails the condition: nothing to do.
    await conditional(this.#table, "UpdateItem", () =>
      this.#update(correlationId, {
        UpdateExpression: "SET fence_token = :token",
        ConditionExpression: "attribute_not_exists(fence_token) OR fence_token < :token",
        ExpressionAttributeValues: { ":token": N(fenceToken) },
      }),
    );
  }

  async releaseLease(correlationId: string, steps: number, retries: number, fenceToken: number): Promise<boolean> {
    const output = await conditional(this.#table, "UpdateItem", () =>
      this.#update(correlationId, {
        UpdateExpression: "SET released = :true",
        ConditionExpression: "lease_steps = :steps AND lease_retries = :retries AND fence_token = :fence AND released = :false",
        ExpressionAttributeValues: {
          ":true": BOOL(true),
          ":false": BOOL(false),
          ":steps": N(steps),
          ":retries": N(retries),
          ":fence": N(fenceToken),
        },
      }),
    );
    return output !== undefined;
  }

  async isDispatched(correlationId: string, steps: number): Promise<boolean> {
    return this.#marked(await getItem(this.#client, this.#table, { pk: S(correlationId) }, "dispatched_steps, dispatched_until"), steps);
  }

  /** Whether `item` marks step `steps` dispatched, and the mark has not run out. */
  #marked(item: Item | undefined, steps: number): boolean {
    const marked = num(item, "dispatched_steps");
    const until = num(item, "dispatched_until");
    return marked !== undefined && until !== undefined && marked >= steps && until > this.#clock.now();
  }

  /**
   * Raise the mark to `steps` (never lower it) and renew it for `ttlSeconds`: one conditional
   * write, and a second that only renews when a higher step is already marked.
   */
  async markDispatched(correlationId: string, steps: number, ttlSeconds: number): Promise<void> {
    const until = this.#clock.now() + ttlSeconds * 1000;
    const values = { ":until": N(until), ":ttl": N(this.#ttl(until)) };
    const raised = await conditional(this.#table, "UpdateItem", () =>
      this.#update(correlationId, {
        UpdateExpression: "SET dispatched_steps = :steps, dispatched_until = :until, expires_ttl = :ttl",
        ConditionExpression: "attribute_not_exists(dispatched_steps) OR dispatched_steps <= :steps",
        ExpressionAttributeValues: { ...values, ":steps": N(steps) },
      }),
    );
    if (raised !== undefined) return;
    await call(this.#table, "UpdateItem", () =>
      this.#update(correlationId, { UpdateExpression: "SET dispatched_until = :until, expires_ttl = :ttl", ExpressionAttributeValues: values }),
    );
  }

  /**
   * {@link markDispatched} and then {@link releaseLease} in one conditional UpdateItem, where the
   * lease is still held for `(steps, retries, fenceToken)` and no later step is marked; otherwise
   * (the lease was lost, or a later step is marked) the two separate writes. The mark is set either
   * way; returns whether the lease was released.
   */
  async markAndRelease(correlationId: string, steps: number, retries: number, fenceToken: number, ttlSeconds: number): Promise<boolean> {
    const until = this.#clock.now() + ttlSeconds * 1000;
    const output = await conditional(this.#table, "UpdateItem", () =>
      this.#update(correlationId, {
        UpdateExpression: "SET dispatched_steps = :steps, dispatched_until = :until, expires_ttl = :ttl, released = :true",
        ConditionExpression:
          "lease_steps = :steps AND lease_retries = :retries AND fence_token = :fence AND released = :false AND (attribute_not_exists(dispatched_steps) OR dispatched_steps <= :steps)",
        ExpressionAttributeValues: {
          ":steps": N(steps),
          ":until": N(until),
          ":ttl": N(this.#ttl(until)),
          ":true": BOOL(true),
          ":false": BOOL(false),
          ":retries": N(retries),
          ":fence": N(fenceToken),
        },
      }),
    );
    if (output !== undefined) return true;
    await this.markDispatched(correlationId, steps, ttlSeconds);
    return this.releaseLease(correlationId, steps, retries, fenceToken);
  }
}
