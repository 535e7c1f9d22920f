/**
 * TransactWriteItems for dynalite, which has no transactions: a test-only stand-in so the DynamoDB
 * journal's transactional writes (park, unpark) run against dynalite's own tables, expressions and
 * condition checks. It is not DynamoDB's implementation, and says what it keeps of it:
 *
 * - the request is validated as the four single-item operations it contains (dynalite's own
 *   validations parse every expression), at most 100 items, never two on one item, a ConditionCheck
 *   only with a ConditionExpression;
 * - every condition is checked first; if any fails, nothing is written and the answer is
 *   `TransactionCanceledException` with one `CancellationReasons` entry per item, in order
 *   (`ConditionalCheckFailed` or `None`, with the old item under `ALL_OLD`);
 * - then the writes are applied one by one through dynalite's own PutItem, UpdateItem and DeleteItem.
 *
 * Transactions run one at a time, but a single-item request may slip between a transaction's checks
 * and its writes: it is atomic for tests that do one call at a time, not under concurrency.
 */
import type { IncomingMessage, Server, ServerResponse } from "node:http";
import { createRequire } from "node:module";

const require = createRequire(import.meta.url);

type Callback<T> = (error: (Error & { statusCode?: number; body?: unknown; name?: string }) | null, value?: T) => void;
type JsonObject = Record<string, unknown>;

/** The parts of dynalite's store this stand-in uses (the package ships no types). */
interface Store {
  getTable(name: string, callback: Callback<JsonObject>): void;
  getItemDb(name: string): { get(key: string, callback: Callback<JsonObject>): void };
}

interface DynaliteDb {
  create(options: unknown): Store;
  createKey(item: JsonObject, table: JsonObject): string;
  checkConditional(data: JsonObject, existing: JsonObject | undefined): Error | null | undefined;
}

const db = require("dynalite/db") as DynaliteDb;
const validations = require("dynalite/validations") as {
  checkValidations(data: JsonObject, types: unknown, custom: unknown, store: Store): void;
};

const OPERATIONS = {
  ConditionCheck: "deleteItem",
  Put: "putItem",
  Update: "updateItem",
  Delete: "deleteItem",
} as const;
type Operation = keyof typeof OPERATIONS;
type Action = (store: Store, data: JsonObject, callback: Callback<JsonObject>) => void;

const actionOf = (name: string) => require(`dynalite/actions/${name}`) as Action;
const validationOf = (name: string) => require(`dynalite/validations/${name}`) as { types: unknown; custom: unknown };

const promised = <T>(run: (callback: Callback<T>) => void) =>
  new Promise<T | undefined>((resolve, reject) => run((error, value) => (error ? reject(error) : resolve(value))));

/** An answer in DynamoDB's JSON error shape. */
class Answer extends Error {
  constructor(
    readonly status: number,
    readonly payload: JsonObject,
  ) {
    super(String(payload.message ?? payload.__type));
  }
}

const validation = (message: string) => new Answer(400, { __type: "com.amazon.coral.validate#ValidationException", message });

/** Call `dynalite(options)` and keep the store it creates, which dynalite does not expose. */
export function withStore<S extends Server>(start: () => S): { server: S; store: Store } {
  const original = db.create;
  let store: Store | undefined;
  db.create = (options) => {
    store = original(options);
    return store;
  };
  try {
    const server = start();
    if (store === undefined) throw new Error("dynalite did not create its store through db.create");
    return { server, store };
  } finally {
    db.create = original;
  }
}

/** Answer TransactWriteItems on `server` (dynalite, with its `store`); every other request goes to dynalite. */
export function addTransactions(server: Server, store: Store): void {
  const [dynalite] = server.listeners("request") as Array<(req: IncomingMessage, res: ServerResponse) => void>;
  if (dynalite === undefined) throw new Error("dynalite has no request handler");
  server.removeAllListeners("request");
  let queue: Promise<unknown> = Promise.resolve();
  server.on("request", (req: IncomingMessage, res: ServerResponse) => {
    if (req.headers["x-amz-target"] !== "DynamoDB_20120810.TransactWriteItems") {
      dynalite(req, res);
      return;
    }
    const chunks: Buffer[] = [];
    req.on("data", (chunk: Buffer) => chunks.push(chunk));
    req.on("end", () => {
      const run = queue.then(() => transactWrite(store, JSON.parse(Buffer.concat(chunks).toString("utf8")) as JsonObject));
      queue = run.catch(() => undefined);
      run.then(
        () => send(res, 200, {}),
        (error: unknown) => {
          if (error instanceof Answer) return send(res, error.status, error.payload);
          const failure = error as { statusCode?: number; body?: JsonObject; message?: string };
          send(res, failure.statusCode ?? 500, failure.body ?? { __type: "com.amazonaws.dynamodb.v20120810#InternalServerError", message: failure.message });
        },
      );
    });
  });
}

function send(res: ServerResponse, status: number, payload: JsonObject): void {
  const body = JSON.stringify(payload);
  res.statusCode = status;
  res.setHeader("Content-Type", "application/x-amz-json-1.0");
  res.setHeader("Content-Length", Buffer.byteLength(body));
  res.end(body);
}

async function transactWrite(store: Store, request: JsonObject): Promise<void> {
  const items = request.TransactItems;
  if (!Array.isArray(items) || items.length === 0 || items.length > 100) {
    throw validation("TransactItems must hold 1 to 100 items");
  }
  const steps: Array<{ operation: Operation; data: JsonObject; key: string; table: string }> = [];
  for (const entry of items as JsonObject[]) {
    const [operation, ...others] = Object.keys(entry) as Operation[];
    if (operation === undefined || others.length > 0 || !(operation in OPERATIONS)) {
      throw validation("each TransactItem must hold exactly one of ConditionCheck, Put, Update, Delete");
    }
    const data = { ...(entry[operation] as JsonObject) };
    if (operation === "ConditionCheck" && typeof data.ConditionExpression !== "string") {
      throw validation("a ConditionCheck needs a ConditionExpression");
    }
    const check = validationOf(OPERATIONS[operation]);
    try {
      validations.checkValidations(data, check.types, check.custom, store);
    } catch (error) {
      throw Object.assign(error as Error, { statusCode: 400 });
    }
    const table = (await promised<JsonObject>((callback) => store.getTable(String(data.TableName), callback))) as JsonObject;
    const key = db.createKey((data.Key ?? data.Item) as JsonObject, table);
    if (steps.some((step) => step.table === data.TableName && step.key === key)) {
      throw validation("Transaction request cannot include multiple operations on one item");
    }
    steps.push({ operation, data, key, table: String(data.TableName) });
  }

  const reasons: JsonObject[] = [];
  for (const step of steps) {
    const itemDb = store.getItemDb(step.table);
    const old = await promised<JsonObject>((callback) => itemDb.get(step.key, callback)).catch((error: Error) => {
      if (error.name === "NotFoundError" || /not ?found/i.test(error.message)) return undefined;
      throw error;
    });
    const failed = db.checkConditional(step.data, old) != null;
    reasons.push(
      failed
        ? {
            Code: "ConditionalCheckFailed",
            Message: "The conditional request failed",
            ...(step.data.ReturnValuesOnConditionCheckFailure === "ALL_OLD" && old !== undefined ? { Item: old } : {}),
          }
        : { Code: "None" },
    );
  }
  if (reasons.some((reason) => reason.Code !== "None")) {
    throw new Answer(400, {
      __type: "com.amazonaws.dynamodb.v20120810#TransactionCanceledException",
      message: `Transaction cancelled, please refer cancellation reasons for specific reasons [${reasons.map((r) => r.Code).join(", ")}]`,
      CancellationReasons: reasons,
    });
  }
  for (const step of steps) {
    if (step.operation === "ConditionCheck") continue;
    // Checked above; the write itself is unconditional.
    const { _condition, ConditionExpression, Expected, ReturnValuesOnConditionCheckFailure, ...write } = step.data;
    await promised<JsonObject>((callback) => actionOf(OPERATIONS[step.operation])(store, write, callback));
  }
}
