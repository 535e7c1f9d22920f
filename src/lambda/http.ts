/**
 * API Gateway proxy events (REST API v1 and HTTP API v2) for the Lambda handler: start instances,
 * read their status and history, send them events, and the operator's controls (SPEC §9). Every
 * route answers JSON; the table of routes, bodies and answers is in docs/runtimes/lambda.md.
 *
 * | route | answer |
 * | --- | --- |
 * | `POST /instances` | 202 `{correlationId}`; bulk (`{"instances": [...]}`): 202, or 207 when an item failed, `{started, failed, results}` |
 * | `POST /machines/{machine}/start` | 202 `{correlationId}` |
 * | `GET /instances/{id}` | 200, the instance |
 * | `GET /instances/{id}/history` | 200 `{correlationId, messages, attempts}` |
 * | `POST /instances/{id}/events/{event}` | 202 `{correlationId, state, event, steps}` |
 * | `POST /instances/{id}/abort` | 202 `{correlationId, requested, reason, via}` |
 * | `POST /instances/{id}/pause` | 200, the instance |
 * | `POST /instances/{id}/resume` | 202 `{correlationId, resent, stillHeld}` |
 * | `POST /instances/{id}/redrive` | 202 `{correlationId, state, event, steps}` |
 * | `POST /instances/{id}/recover` | 202 `{correlationId, resent}` |
 * | `POST /machines/{machine}/pause` | 200 `{machine, state?}` |
 * | `POST /machines/{machine}/resume` | 202 `{machine, state?, resent, stillHeld}` |
 * | `POST /tasks/report` | 202 `{correlationId, state, event, steps}` (body `{token, event, data?}`) |
 * | `POST /tasks/heartbeat` | 200 `{correlationId, due}` (body `{token}`) |
 *
 * Refusals answer `{"error": "<one line>"}` with the status of their code ({@link STATUS_OF_CODE});
 * other bad requests 400, a backend that failed 503. A stage prefix in the path
 * (`/prod/instances/...`) is accepted. Authorization is API Gateway's (IAM, JWT or a Lambda
 * authorizer): the handler trusts every request that reaches it.
 */
import type { Switchyard } from "../client/switchyard.js";
import type { MachinePause } from "../client/control.js";
import { requireJournal } from "../client/send-event.js";
import { machineOf, startItemOf, startOptionsOf, startResultView } from "../client/start-input.js";
import { PayloadTooLargeError, SwitchyardError, SystemError, UsageError } from "../errors.js";
import type { Logger } from "../logger.js";
import type { InstanceRecord } from "../ports.js";
import { instanceView } from "../client/instance-view.js";

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

/** The routes a task reports over (the stack lets its task role invoke them). */
export const TASK_ROUTES = ["/tasks/report", "/tasks/heartbeat"] as const;

/** At most this many instances per bulk `POST /instances`. */
export const MAX_BULK_START = 1000;

/**
 * The HTTP status of each refusal code ({@link UsageError.code}); any other usage error is a 400.
 * `no_journal` is 501: the deployment has the journal switched off, so it does not implement the
 * route at all, whatever the request.
 */
export const STATUS_OF_CODE: Readonly<Record<string, number>> = {
  not_found: 404,
  unknown_machine: 404,
  duplicate_correlation_id: 409,
  not_waiting: 409,
  finished: 409,
  not_failed: 409,
  not_stalled: 409,
  paused: 409,
  no_transition: 400,
  unknown_state: 409,
  no_state: 400,
  invalid_correlation_id: 400,
  no_journal: 501,
  unknown_token: 404,
  stale_token: 409,
  already_reported: 409,
  no_environment: 501,
};

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

/** One route: a method and a path template whose `{name}` segments are passed to `answer`, decoded. */
interface Route {
  readonly method: "GET" | "POST";
  readonly template: string;
  /** What the route does, for a 405: `use POST to <purpose>`. */
  readonly purpose: string;
  answer(sy: Switchyard, params: readonly string[], body: string | undefined): Promise<HttpResponse>;
}

/** The routes, the longer paths first: the first whose template matches the end of the path answers. */
const ROUTES: readonly Route[] = [
  {
    method: "POST",
    template: "/instances/{id}/events/{event}",
    purpose: "send an event",
    async answer(sy, [id, event], body) {
      const { data } = bodyObject(body, '{"data": <any JSON>} or nothing');
      const sent = await sy.sendEvent(id as string, event as string, { data });
      return json(202, { correlationId: sent.correlationId, state: sent.state, event: sent.event, steps: sent.steps });
    },
  },
  {
    method: "GET",
    template: "/instances/{id}/history",
    purpose: "read an instance's history",
    async answer(sy, [id]) {
      requireJournal(sy, "GET /instances/{id}/history reads it");
      const messages = await sy.history(id as string);
      return json(200, { correlationId: id, messages, attempts: await sy.attempts(id as string) });
    },
  },
  {
    method: "POST",
    template: "/instances/{id}/abort",
    purpose: "abort an instance",
    async answer(sy, [id], body) {
      const { reason } = bodyObject(body, '{"reason": "optional text"} or nothing');
      if (reason !== undefined && typeof reason !== "string") throw new UsageError('"reason" must be a string');
      const result = await sy.abort(id as string, { reason });
      return json(202, { correlationId: result.correlationId, requested: result.requested, reason: result.reason, via: result.via });
    },
  },
  {
    method: "POST",
    template: "/instances/{id}/pause",
    purpose: "pause an instance",
    async answer(sy, [id]) {
      return json(200, instanceBody(await sy.pause(id as string)));
    },
  },
  {
    method: "POST",
    template: "/instances/{id}/resume",
    purpose: "resume an instance",
    async answer(sy, [id]) {
      const result = await sy.resume(id as string);
      return json(202, { correlationId: id, resent: result.resent, stillHeld: result.stillHeld });
    },
  },
  {
    method: "POST",
    template: "/instances/{id}/redrive",
    purpose: "redrive a failed instance",
    async answer(sy, [id]) {
      const result = await sy.redrive(id as string);
      return json(202, { correlationId: result.correlationId, state: result.state, event: result.event, steps: result.steps });
    },
  },
  {
    method: "POST",
    template: "/instances/{id}/recover",
    purpose: "recover a stalled instance",
    async answer(sy, [id]) {
      const result = await sy.recover(id as string);
      return json(202, { correlationId: result.correlationId, resent: result.resent });
    },
  },
  {
    method: "POST",
    template: "/machines/{machine}/start",
    purpose: "start an instance",
    async answer(sy, [machine], body) {
      const input = startOptionsOf(bodyObject(body, '{"context": {...}, "correlationId": "optional"}'), "camel");
      const started = await sy.start(machine as string, input);
      return json(202, { correlationId: started.correlationId });
    },
  },
  {
    method: "POST",
    template: "/machines/{machine}/pause",
    purpose: "pause a machine's instances",
    async answer(sy, [machine], body) {
      const pause = machinePause(machine as string, body);
      await sy.pauseMachine(pause);
      return json(200, pauseBody(pause));
    },
  },
  {
    method: "POST",
    template: "/machines/{machine}/resume",
    purpose: "lift a pause of a machine",
    async answer(sy, [machine], body) {
      const pause = machinePause(machine as string, body);
      const result = await sy.resumeMachine(pause);
      return json(202, { ...pauseBody(pause), resent: result.resent, stillHeld: result.stillHeld });
    },
  },
  {
    method: "POST",
    template: TASK_ROUTES[0],
    purpose: "report a task's outcome",
    async answer(sy, _params, body) {
      const input = bodyObject(body, TASK_REPORT_SHAPE);
      const sent = await sy.reportTask(stringField(input, "token", TASK_REPORT_SHAPE), stringField(input, "event", TASK_REPORT_SHAPE), input.data);
      return json(202, { correlationId: sent.correlationId, state: sent.state, event: sent.event, steps: sent.steps });
    },
  },
  {
    method: "POST",
    template: TASK_ROUTES[1],
    purpose: "record a task's heartbeat",
    async answer(sy, _params, body) {
      const shape = '{"token": "the task\'s SWITCHYARD_TASK_TOKEN"}';
      const beat = await sy.heartbeatTask(stringField(bodyObject(body, shape), "token", shape));
      return json(200, { correlationId: beat.correlationId, due: beat.due === undefined ? null : new Date(beat.due).toISOString() });
    },
  },
  {
    method: "GET",
    template: "/instances/{id}",
    purpose: "read an instance's status",
    async answer(sy, [id]) {
      requireJournal(sy, "GET /instances/{id} reads the instance from it");
      return json(200, instanceBody(await sy.status(id as string)));
    },
  },
  {
    method: "POST",
    template: "/instances",
    purpose: "start instances",
    answer: startInstances,
  },
];

/** The routes as API Gateway route keys (`POST /instances/{id}/abort`), in the order they are matched. */
export const HTTP_ROUTE_KEYS: readonly string[] = ROUTES.map((route) => `${route.method} ${route.template}`);

const PATTERNS = ROUTES.map((route) => new RegExp(`${route.template.replace(/\//g, "\\/").replace(/\{[a-z]+\}/g, "([^/]+)")}\\/?$`));

/** Answer one API Gateway request; never throws (failures become JSON error responses). */
export async function handleHttp(event: unknown, switchyard: () => Promise<Switchyard>, logger: Logger): Promise<HttpResponse> {
  const request = requestOf(event) as HttpRequest;
  const method = request.method.toUpperCase();
  const index = PATTERNS.findIndex((pattern) => pattern.test(request.path));
  const route = ROUTES[index];
  if (route === undefined) {
    return error(404, `no route for ${method} ${request.path}; the routes: ${ROUTES.map((r) => `${r.method} ${r.template}`).join(", ")}`);
  }
  if (method !== route.method) return error(405, `${method} ${request.path} is not supported; use ${route.method} to ${route.purpose}`);
  try {
    const params = (PATTERNS[index]?.exec(request.path) ?? []).slice(1).map(decodeSegment);
    return await route.answer(await switchyard(), params, request.body);
  } catch (caught) {
    return errorResponse(caught, logger);
  }
}

function decodeSegment(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    throw new UsageError(`path segment "${segment}" is not valid percent-encoding`);
  }
}

/** `POST /instances`: one instance (`{"machine", "context"?, "correlationId"?}`), or many (`{"instances": [...]}`). */
async function startInstances(sy: Switchyard, _params: readonly string[], body: string | undefined): Promise<HttpResponse> {
  const shape = '{"machine": "name", "context": {...}, "correlationId": "optional"} or {"instances": [{"machine": …}, …]}';
  const input = bodyObject(body, shape);
  if (input.instances === undefined) {
    const started = await sy.start(machineOf(input), startOptionsOf(input, "camel"));
    return json(202, { correlationId: started.correlationId });
  }
  if (input.machine !== undefined) throw new UsageError(`send either one instance or "instances", not both: ${shape}`);
  const items = input.instances;
  if (!Array.isArray(items) || items.length === 0) throw new UsageError(`"instances" must be a non-empty array: ${shape}`);
  if (items.length > MAX_BULK_START) throw new UsageError(`at most ${MAX_BULK_START} instances per request, got ${items.length}; split them`);
  const starts = items.map((item: unknown, i) => startItemOf(item, "camel", { where: `instances[${i}]: ` }));
  const outcomes = await sy.startMany(starts);
  const results = outcomes.map((result) => ({ ...startResultView(result, "camel"), ...(result.ok ? {} : { status: statusOf(result.error) }) }));
  const failed = outcomes.filter((result) => !result.ok).length;
  return json(failed === 0 ? 202 : 207, { started: results.length - failed, failed, results });
}

/** The JSON object of a request body; nothing (or blank) is `{}`. */
function bodyObject(body: string | undefined, shape: string): Record<string, unknown> {
  if (body === undefined || body.trim() === "") return {};
  let value: unknown;
  try {
    value = JSON.parse(body);
  } catch {
    throw new UsageError(`request body is not valid JSON; send ${shape}`);
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) throw new UsageError(`request body must be a JSON object: ${shape}`);
  return value as Record<string, unknown>;
}

/** The body of `POST /tasks/report`. */
const TASK_REPORT_SHAPE = '{"token": "the task\'s SWITCHYARD_TASK_TOKEN", "event": "done", "data": <any JSON, optional>}';

/** A body's non-empty string field, or a refusal naming it and the body's shape. */
function stringField(input: Record<string, unknown>, name: string, shape: string): string {
  const value = input[name];
  if (typeof value !== "string" || value === "") throw new UsageError(`"${name}" must be a non-empty string: ${shape}`);
  return value;
}

/** The machine pause a `POST /machines/{machine}/pause|resume` names: `{"state": "optional"}`. */
function machinePause(machine: string, body: string | undefined): MachinePause {
  const { state } = bodyObject(body, '{"state": "optional state"} or nothing');
  if (state !== undefined && typeof state !== "string") throw new UsageError('"state" must be a string naming a state of the machine');
  return { machine, state };
}

function pauseBody(pause: MachinePause) {
  return { machine: pause.machine, ...(pause.state === undefined ? {} : { state: pause.state }) };
}

/** An instance as `GET /instances/{id}` answers it; pause and abort keys only when they apply. */
function instanceBody(record: InstanceRecord) {
  return instanceView(record, "camel");
}

/** The HTTP status of an error: a refusal's by its code, 413 for a message too large, 503 for a backend, else 500. */
function statusOf(caught: unknown): number {
  if (caught instanceof UsageError) return STATUS_OF_CODE[caught.code] ?? 400;
  if (caught instanceof PayloadTooLargeError) return 413;
  if (caught instanceof SystemError) return 503;
  return 500;
}

function errorResponse(caught: unknown, logger: Logger): HttpResponse {
  const status = statusOf(caught);
  const message = caught instanceof Error ? caught.message : String(caught);
  if (status < 500 || (caught instanceof UsageError && status === 501)) return error(status, message);
  logger.error(`API request failed: ${message}`);
  if (status === 503) return error(503, `${message}; try again later`);
  if (caught instanceof SwitchyardError) return error(500, message);
  return error(500, "internal error; see the function's logs");
}
