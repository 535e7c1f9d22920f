/**
 * API Gateway proxy events (REST API v1 and HTTP API v2) for the Lambda handler:
 *
 * - `POST /machines/{machine}/start` with `{"context": {...}, "correlationId"?: "..."}` starts an
 *   instance and answers 202 `{"correlationId": "..."}`;
 * - `GET /instances/{id}` answers 200 with the instance's status from the journal;
 * - `POST /instances/{id}/events/{event}` with `{"data": <any JSON>}` (or no body) delivers an
 *   external event to a waiting instance and answers 202 `{"correlationId", "state", "event",
 *   "steps"}`; 409 when the instance is not waiting, 400 when its state has no such event, 413
 *   when the message is too large for the stream.
 *
 * Errors answer JSON `{"error": "<one line>"}` with a 4xx status for bad requests and 5xx when a
 * backend failed. A stage prefix in the path (`/prod/machines/...`) is accepted.
 */
import type { Switchyard } from "../client/switchyard.js";
import { PayloadTooLargeError, SwitchyardError, SystemError, UsageError } from "../errors.js";
import type { Logger } from "../logger.js";

/** The proxy response API Gateway expects. */
export interface HttpResponse {
  readonly statusCode: number;
  readonly headers: Readonly<Record<string, string>>;
  readonly body: string;
}

/** A request, from either payload format. */
interface HttpRequest {
  readonly method: string;
  readonly path: string;
  readonly body: string | undefined;
}

/** Whether an event is an API Gateway proxy event (v1 REST or v2 HTTP API). */
export function isHttpEvent(event: unknown): boolean {
  return requestOf(event) !== undefined;
}

function requestOf(event: unknown): HttpRequest | undefined {
  if (typeof event !== "object" || event === null) return undefined;
  const e = event as Record<string, unknown>;
  const context = e.requestContext as Record<string, unknown> | undefined;
  if (typeof context !== "object" || context === null) return undefined;
  const raw = typeof e.body === "string" ? e.body : undefined;
  const body = raw !== undefined && e.isBase64Encoded === true ? Buffer.from(raw, "base64").toString("utf8") : raw;
  const http = context.http as Record<string, unknown> | undefined;
  if (e.version === "2.0" && typeof http?.method === "string" && typeof e.rawPath === "string") {
    return { method: http.method, path: e.rawPath, body };
  }
  if (typeof e.httpMethod === "string" && typeof e.path === "string") return { method: e.httpMethod, path: e.path, body };
  return undefined;
}

function json(statusCode: number, value: unknown): HttpResponse {
  return { statusCode, headers: { "content-type": "application/json" }, body: JSON.stringify(value) };
}

function error(statusCode: number, message: string): HttpResponse {
  return json(statusCode, { error: message });
}

/** Answer one API Gateway request; never throws (failures become JSON error responses). */
export async function handleHttp(event: unknown, switchyard: () => Promise<Switchyard>, logger: Logger): Promise<HttpResponse> {
  const request = requestOf(event) as HttpRequest;
  const start = /\/machines\/([^/]+)\/start\/?$/.exec(request.path);
  const instance = /\/instances\/([^/]+)\/?$/.exec(request.path);
  const eventRoute = /\/instances\/([^/]+)\/events\/([^/]+)\/?$/.exec(request.path);
  const method = request.method.toUpperCase();
  try {
    if (start !== null) {
      if (method !== "POST") return error(405, `${method} ${request.path} is not supported; use POST to start an instance`);
      const input = parseBody(request.body);
      const sy = await switchyard();
      const started = await sy.start(decodeURIComponent(start[1] as string), { context: input.context, correlationId: input.correlationId });
      return json(202, { correlationId: started.correlationId });
    }
    if (eventRoute !== null) {
      if (method !== "POST") return error(405, `${method} ${request.path} is not supported; use POST to send an event`);
      const data = parseEventBody(request.body);
      const sy = await switchyard();
      const sent = await sy.sendEvent(decodeURIComponent(eventRoute[1] as string), decodeURIComponent(eventRoute[2] as string), { data });
      return json(202, { correlationId: sent.correlationId, state: sent.state, event: sent.event, steps: sent.steps });
    }
    if (instance !== null) {
      if (method !== "GET") return error(405, `${method} ${request.path} is not supported; use GET to read an instance's status`);
      const sy = await switchyard();
      const record = await sy.status(decodeURIComponent(instance[1] as string));
      return json(200, {
        correlationId: record.correlationId,
        machine: record.machineName,
        status: record.status,
        state: record.state,
        context: record.userContext,
        startedAt: new Date(record.startedAt).toISOString(),
        updatedAt: new Date(record.updatedAt).toISOString(),
        ...(record.reason === undefined ? {} : { reason: record.reason }),
      });
    }
    return error(404, `no route for ${method} ${request.path}; use POST /machines/{machine}/start, GET /instances/{id} or POST /instances/{id}/events/{event}`);
  } catch (caught) {
    return errorResponse(caught, logger);
  }
}

function parseBody(body: string | undefined): { context?: Record<string, unknown>; correlationId?: string } {
  if (body === undefined || body.trim() === "") return {};
  let value: unknown;
  try {
    value = JSON.parse(body);
  } catch {
    throw new UsageError('request body is not valid JSON; send {"context": {...}, "correlationId": "optional"}');
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw new UsageError('request body must be a JSON object: {"context": {...}, "correlationId": "optional"}');
  }
  const { context, correlationId } = value as Record<string, unknown>;
  if (context !== undefined && (typeof context !== "object" || context === null || Array.isArray(context))) {
    throw new UsageError('"context" must be a JSON object');
  }
  // Its content is checked by start, with the same one-line rule as everywhere.
  if (correlationId !== undefined && typeof correlationId !== "string") throw new UsageError('"correlationId" must be a string');
  return { context: context as Record<string, unknown> | undefined, correlationId: correlationId as string | undefined };
}

function parseEventBody(body: string | undefined): unknown {
  if (body === undefined || body.trim() === "") return undefined;
  let value: unknown;
  try {
    value = JSON.parse(body);
  } catch {
    throw new UsageError('request body is not valid JSON; send {"data": <any JSON>} or nothing');
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw new UsageError('request body must be a JSON object: {"data": <any JSON>}');
  }
  return (value as Record<string, unknown>).data;
}

function errorResponse(caught: unknown, logger: Logger): HttpResponse {
  if (caught instanceof UsageError) {
    const status =
      caught.code === "not_found" || caught.code === "unknown_machine"
        ? 404
        : caught.code === "duplicate_correlation_id" || caught.code === "not_waiting"
          ? 409
          : 400;
    return error(status, caught.message);
  }
  if (caught instanceof PayloadTooLargeError) return error(413, caught.message);
  const message = caught instanceof Error ? caught.message : String(caught);
  logger.error(`API request failed: ${message}`);
  if (caught instanceof SystemError) return error(503, `${message}; try again later`);
  if (caught instanceof SwitchyardError) return error(500, message);
  return error(500, "internal error; see the function's logs");
}
