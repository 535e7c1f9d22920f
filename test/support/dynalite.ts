/**
 * An in-process DynamoDB emulator (dynalite) for tests: in-memory, on a free loopback port,
 * tables ACTIVE at once. Sets fake AWS credentials when none are set, so the SDK signs requests.
 * dynalite has no transactions: TransactWriteItems is answered by a test-only stand-in
 * (`dynalite-transactions.ts`, which says what it keeps of DynamoDB's semantics).
 */
import type { Server } from "node:http";
import { createRequire } from "node:module";
import { serve } from "./aws-emulators.js";
import { addTransactions, withStore } from "./dynalite-transactions.js";

/** Options dynalite accepts (the package ships no types). */
interface DynaliteOptions {
  readonly createTableMs?: number;
  readonly deleteTableMs?: number;
  readonly updateTableMs?: number;
  readonly maxItemSizeKb?: number;
}

const require = createRequire(import.meta.url);
const dynalite = require("dynalite") as (options: DynaliteOptions) => Server;

/** A running dynalite server. */
export interface RunningDynalite {
  /** `http://127.0.0.1:PORT`: use as the DynamoDB endpoint (settings `endpoints.dynamodb`). */
  readonly endpoint: string;
  /** Stop the server and drop its data. */
  close(): Promise<void>;
}

/** Start dynalite on a free loopback port; call `close()` when done (e.g. in `afterAll`). */
export async function startDynalite(): Promise<RunningDynalite> {
  process.env.AWS_ACCESS_KEY_ID ??= "test";
  process.env.AWS_SECRET_ACCESS_KEY ??= "test";
  const { server, store } = withStore(() => dynalite({ createTableMs: 0, deleteTableMs: 0, updateTableMs: 0 }));
  addTransactions(server, store);
  return serve(server);
}
