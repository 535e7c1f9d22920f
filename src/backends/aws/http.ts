/**
 * The HTTP handler every SQS, SNS and Kinesis client of Switchyard uses: bounded connection and
 * request timeouts, so an unreachable endpoint fails a port call quickly (and the engine fails
 * over) instead of hanging. Together with `clientConfig`'s `maxAttempts: 2`, a dead endpoint costs
 * at most a few seconds.
 */
import { NodeHttpHandler } from "@smithy/node-http-handler";
import { SwitchyardError, SystemError } from "../../errors.js";
import type { ApiCallObserver } from "../../ports.js";

/** Milliseconds to wait for a TCP connection before a call fails. */
export const CONNECTION_TIMEOUT_MS = 2_000;
/** Milliseconds to wait for an answer before a call fails. */
export const REQUEST_TIMEOUT_MS = 10_000;

/** A fresh request handler with Switchyard's timeouts. */
export function requestHandler(): NodeHttpHandler {
  return new NodeHttpHandler({ connectionTimeout: CONNECTION_TIMEOUT_MS, requestTimeout: REQUEST_TIMEOUT_MS });
}

type Handler = (args: { input: object }) => Promise<{ output: unknown }>;

/** The part of an SDK client that {@link observeCalls} touches. */
interface MiddlewareClient {
  readonly middlewareStack: {
    add(middleware: (next: Handler, context: { commandName?: string }) => Handler, options: { step: "initialize"; name: string }): void;
  };
}

/** DynamoDB operations that accept `ReturnConsumedCapacity`. */
const CAPACITY_OPERATIONS = new Set(["PutItem", "UpdateItem", "DeleteItem", "GetItem", "Query", "Scan", "BatchGetItem", "BatchWriteItem", "TransactWriteItems", "TransactGetItems"]);

/**
 * Report every call `client` makes to `observer` (`switchyard cost`), under `service`'s name.
 * Without an observer the client is returned as it is: no middleware, no cost per call. With one
 * that asks for consumed capacity, DynamoDB calls also carry `ReturnConsumedCapacity: TOTAL`.
 */
export function observeCalls<C extends object>(client: C, service: string, observer: ApiCallObserver | undefined): C {
  if (observer === undefined) return client;
  (client as unknown as MiddlewareClient).middlewareStack.add(
    (next, context) => async (args) => {
      const operation = (context.commandName ?? "Unknown").replace(/Command$/, "");
      let input = args.input;
      if (observer.consumedCapacity && service === "DynamoDB" && CAPACITY_OPERATIONS.has(operation) && !("ReturnConsumedCapacity" in input)) {
        input = { ...input, ReturnConsumedCapacity: "TOTAL" };
      }
      try {
        const result = await next({ ...args, input });
        observer.onCall({ service, operation, input, output: result.output });
        return result;
      } catch (error) {
        observer.onCall({ service, operation, input, output: undefined });
        throw error;
      }
    },
    { step: "initialize", name: "switchyardApiCallObserver" },
  );
  return client;
}

/** The SDK error name (`QueueDoesNotExist`, `ResourceNotFoundException`, …), or undefined. */
export function errorName(error: unknown): string | undefined {
  return error instanceof Error ? error.name : undefined;
}

/** One line describing what went wrong (connection errors may come with an empty message). */
export function errorReason(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  const code = (error as { code?: unknown }).code;
  const text = error.message || (typeof code === "string" ? code : "") || error.name;
  return text.split("\n")[0] ?? text;
}

/**
 * Translate an SDK failure into a one-line {@link SystemError} naming the service, the operation
 * and the resource; Switchyard's own errors pass through.
 */
export function awsFailure(service: string, operation: string, resource: string, error: unknown): Error {
  if (error instanceof SwitchyardError) return error;
  return new SystemError(`${service} ${operation} on ${resource} failed: ${errorReason(error)}`, { cause: error });
}

/** The one-line error for a resource that is not there (`resource` names it), naming the command that creates it. */
export function missingResourceError(resource: string, code: string, cause?: unknown): SystemError {
  return new SystemError(`${resource} does not exist; run switchyard resources create --settings FILE`, { code, cause });
}
