/**
 * `switchyard dashboard`: one web application over an open {@link Switchyard}. Plain `node:http`:
 * the page and its script and style (bundled in the package's `dashboard/` folder, no CDN), and a
 * JSON API under `/api/` that the page polls. Every request is checked: the token when one is set
 * (required beyond loopback), the Host header against DNS rebinding, JSON and same origin for
 * actions, and `--read-only` refuses every action. Responses carry a strict Content-Security-Policy.
 * Nothing of a request's payload or a response's body is logged.
 */
import { createHash, timingSafeEqual } from "node:crypto";
import { readFileSync } from "node:fs";
import { type IncomingMessage, type ServerResponse, createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { fileURLToPath } from "node:url";
import { SwitchyardError, SystemError, UsageError } from "../errors.js";
import { type Logger, silentLogger } from "../logger.js";
import type { Switchyard } from "../client/switchyard.js";
import { listCursor } from "../client/list-page.js";
import { Documents, instanceDetail, instanceSummary, listFilters, machineSummaries, machineView } from "./model.js";

/** Options of {@link serveDashboard}. */
export interface DashboardOptions {
  /** Default 8080; 0 picks a free port. */
  readonly port?: number | undefined;
  /** Default `127.0.0.1`. Any host beyond loopback needs a {@link token}. */
  readonly host?: string | undefined;
  /** Required on every request when set: `Authorization: Bearer <token>`, or the cookie `/?token=<token>` sets. */
  readonly token?: string | undefined;
  /** Show everything, change nothing: actions are hidden in the page and refused by the API. */
  readonly readOnly?: boolean | undefined;
  /** How often the page refreshes what it shows (ms, default 2000). */
  readonly refreshMs?: number | undefined;
  /** Requests at debug level (method, path, status, time; never a query, payload or body); failures at error. */
  readonly logger?: Logger | undefined;
}

/** A running dashboard. */
export interface DashboardServer {
  /** `http://host:port/`. */
  readonly url: string;
  readonly port: number;
  close(): Promise<void>;
}

/** The environment variable `switchyard dashboard` reads its token from. */
export const DASHBOARD_TOKEN_ENV = "SWITCHYARD_DASHBOARD_TOKEN";

const TOKEN_COOKIE = "switchyard_token";
const MAX_BODY_BYTES = 1024 * 1024;

const CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join("; ");

const SECURITY_HEADERS = {
  "content-security-policy": CSP,
  "x-content-type-options": "nosniff",
  "referrer-policy": "no-referrer",
  "x-frame-options": "DENY",
  "cross-origin-opener-policy": "same-origin",
  "cross-origin-resource-policy": "same-origin",
};

/** The page and its assets: the only files served, read once. */
const ASSETS: Record<string, { file: string; type: string }> = {
  "/": { file: "index.html", type: "text/html; charset=utf-8" },
  "/assets/app.js": { file: "app.js", type: "text/javascript; charset=utf-8" },
  "/assets/app.css": { file: "app.css", type: "text/css; charset=utf-8" },
  "/assets/icon.svg": { file: "icon.svg", type: "image/svg+xml" },
};

/** True for names and addresses that reach this machine only. */
export function isLoopback(host: string): boolean {
  const bare = host.replace(/^\[|\]$/g, "").toLowerCase();
  return bare === "localhost" || bare === "::1" || /^127(\.\d{1,3}){3}$/.test(bare);
}

/**
 * Serve the dashboard of `sy` until `close()`. Refuses (UsageError) a host beyond loopback without
 * a token, and a journal-less settings (the dashboard shows the journal).
 *
 * @example
 * ```ts
 * const dashboard = await serveDashboard(sy, { port: 8080 });
 * console.log(`open ${dashboard.url}`);
 * ```
 */
export async function serveDashboard(sy: Switchyard, options: DashboardOptions = {}): Promise<DashboardServer> {
  const host = options.host ?? "127.0.0.1";
  const token = options.token === "" ? undefined : options.token;
  if (!isLoopback(host) && token === undefined) {
    throw new UsageError(
      `the dashboard binds to ${host}, beyond this machine, so it needs a token: pass --token <secret> or set ${DASHBOARD_TOKEN_ENV} (or bind to 127.0.0.1)`,
      { code: "token_required" },
    );
  }
  if (sy.engine.roles.journal === undefined) {
    throw new UsageError("the dashboard shows the instance journal, and these settings switch it off (journal: false); use settings with a journal", { code: "journal_off" });
  }
  const files = new Map(Object.entries(ASSETS).map(([route, asset]) => [route, { type: asset.type, body: readFileSync(fileURLToPath(new URL(`../../dashboard/${asset.file}`, import.meta.url))) }]));
  const logger = options.logger ?? silentLogger;
  const documents = new Documents(sy);
  const context: Context = { sy, documents, readOnly: options.readOnly === true, refreshMs: options.refreshMs ?? 2000 };
  const tokenDigest = token === undefined ? undefined : digest(token);
  let boundPort = 0;

  const server = createServer((request, response) => {
    const started = performance.now();
    const path = (request.url ?? "/").split("?")[0] ?? "/";
    response.on("finish", () => logger.debug(`dashboard ${request.method} ${path} ${response.statusCode} ${Math.round(performance.now() - started)}ms`));
    handle(request, response).catch((error: unknown) => {
      logger.error(`dashboard ${request.method} ${path} failed: ${error instanceof Error ? error.message : String(error)}`);
      if (!response.headersSent) sendJson(response, 500, { error: "internal", message: "the dashboard could not answer; see its log" });
      else response.end();
    });
  });

  async function handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    for (const [name, value] of Object.entries(SECURITY_HEADERS)) response.setHeader(name, value);
    const url = new URL(request.url ?? "/", "http://dashboard");
    if (!hostAllowed(request.headers.host, host, boundPort, tokenDigest !== undefined)) {
      sendText(response, 421, "this dashboard answers requests addressed to its own host and port only");
      return;
    }
    if (tokenDigest !== undefined) {
      const offered = url.pathname === "/" ? url.searchParams.get("token") : null;
      if (offered !== null && equalDigest(digest(offered), tokenDigest)) {
        // Trade the token in the address for a cookie, and drop it from the address bar and history.
        response.setHeader("set-cookie", `${TOKEN_COOKIE}=${encodeURIComponent(offered)}; HttpOnly; SameSite=Strict; Path=/`);
        response.writeHead(303, { location: "/" }).end();
        return;
      }
      const presented = bearer(request) ?? cookie(request, TOKEN_COOKIE);
      if (presented === undefined || !equalDigest(digest(presented), tokenDigest)) {
        response.setHeader("www-authenticate", 'Bearer realm="switchyard"');
        sendText(response, 401, "this dashboard needs its token: open /?token=<token> once, or send Authorization: Bearer <token>");
        return;
      }
    }
    if (request.method === "GET" || request.method === "HEAD") {
      const asset = files.get(url.pathname);
      if (asset !== undefined) {
        response.writeHead(200, { "content-type": asset.type, "cache-control": "no-cache" }).end(request.method === "HEAD" ? undefined : asset.body);
        return;
      }
    }
    if (!url.pathname.startsWith("/api/")) {
      sendText(response, 404, `no page ${url.pathname}; the dashboard is at /`);
      return;
    }
    try {
      await api(request, response, url, context);
    } catch (error) {
      if (error instanceof SwitchyardError && !(error instanceof SystemError)) {
        sendJson(response, error.code === "not_found" ? 404 : 400, { error: error.code, message: error.message });
        return;
      }
      throw error;
    }
  }

  await new Promise<void>((resolve, reject) => {
    server.once("error", (error: NodeJS.ErrnoException) =>
      reject(
        error.code === "EADDRINUSE"
          ? new UsageError(`port ${options.port ?? 8080} on ${host} is in use; pass another --port (0 picks a free one)`, { code: "port_in_use" })
          : error,
      ),
    );
    server.listen(options.port ?? 8080, host, () => resolve());
  });
  boundPort = (server.address() as AddressInfo).port;
  const shown = host.includes(":") ? `[${host}]` : host;
  return {
    url: `http://${shown}:${boundPort}/`,
    port: boundPort,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

interface Context {
  readonly sy: Switchyard;
  readonly documents: Documents;
  readonly readOnly: boolean;
  readonly refreshMs: number;
}

/** The JSON API: GET reads, POST acts. */
async function api(request: IncomingMessage, response: ServerResponse, url: URL, context: Context): Promise<void> {
  response.setHeader("cache-control", "no-store");
  const { sy, documents } = context;
  const parts = url.pathname.slice("/api/".length).split("/").map(decodeURIComponent);
  const route = parts[0];
  if (request.method === "GET") {
    if (route === "config" && parts.length === 1) return sendJson(response, 200, { readOnly: context.readOnly, refreshMs: context.refreshMs });
    if (route === "machines" && parts.length === 1) return sendJson(response, 200, { machines: await machineSummaries(sy, documents) });
    if (route === "machines" && parts.length === 2) {
      return sendJson(response, 200, await machineView(sy, documents, parts[1] as string, url.searchParams.get("version") || undefined));
    }
    if (route === "instances" && parts.length === 1) {
      const page = await sy.listPage(listFilters(url.searchParams));
      return sendJson(response, 200, { instances: page.instances.map((r) => ({ ...instanceSummary(r), cursor: listCursor(r) })), next: page.next });
    }
    if (route === "instances" && parts.length === 2) return sendJson(response, 200, await instanceDetail(sy, documents, parts[1] as string));
    if (route === "dead-letters" && parts.length === 1) return sendJson(response, 200, { deadLetters: await sy.deadLetters(200) });
    if (route === "pauses" && parts.length === 1) return sendJson(response, 200, { pauses: await sy.pauses() });
    return sendJson(response, 404, { error: "not_found", message: `no API route GET ${url.pathname}` });
  }
  if (request.method !== "POST") {
    response.setHeader("allow", "GET, HEAD, POST");
    return sendJson(response, 405, { error: "method_not_allowed", message: `${request.method} is not an API method; reads are GET, actions POST` });
  }
  if (context.readOnly) return sendJson(response, 403, { error: "read_only", message: "this dashboard is read-only (--read-only): it takes no actions" });
  // An action is JSON from this page only: a form another site posts is neither (and a JSON POST
  // from another origin needs a preflight this server never grants).
  if (!(request.headers["content-type"] ?? "").startsWith("application/json")) {
    return sendJson(response, 415, { error: "unsupported_media_type", message: "actions take a JSON body (content-type: application/json)" });
  }
  const origin = request.headers.origin;
  if (origin !== undefined && origin !== `http://${request.headers.host}`) {
    return sendJson(response, 403, { error: "cross_origin", message: `actions come from the dashboard's own page, not from ${origin}` });
  }
  const body = await readJson(request);
  const id = parts[1] as string;
  const action = parts[2];
  if (route === "instances" && parts.length === 3) {
    if (action === "abort") return sendJson(response, 200, await sy.abort(id, { reason: optionalText(body, "reason") }));
    if (action === "pause") return sendJson(response, 200, { instance: instanceSummary(await sy.pause(id)) });
    if (action === "resume") return sendJson(response, 200, await sy.resume(id));
    if (action === "recover") return sendJson(response, 200, await sy.recover(id));
    if (action === "redrive") return sendJson(response, 200, await sy.redrive(id));
    if (action === "events") {
      const event = optionalText(body, "event");
      if (event === undefined) throw new UsageError('send an event as {"event": "<name>", "data": <any JSON>}');
      return sendJson(response, 200, await sy.sendEvent(id, event, { data: body.data }));
    }
  }
  if (route === "machines" && parts.length === 3 && (action === "pause" || action === "resume")) {
    const pause = { machine: id, state: optionalText(body, "state") };
    if (action === "pause") {
      await sy.pauseMachine(pause);
      return sendJson(response, 200, { paused: pause });
    }
    return sendJson(response, 200, await sy.resumeMachine(pause));
  }
  if (route === "dead-letters" && parts.length === 3 && action === "redrive") {
    const letter = Number(id);
    if (!Number.isSafeInteger(letter)) throw new UsageError(`"${id}" is not a dead letter's id`);
    const results = await sy.redriveDeadLetters({ id: letter, sourceUri: optionalText(body, "sourceUri") });
    return sendJson(response, 200, { results: results.map((r) => (r.ok ? r : { ...r, error: r.error.message })) });
  }
  return sendJson(response, 404, { error: "not_found", message: `no API route POST ${url.pathname}` });
}

function optionalText(body: Record<string, unknown>, key: string): string | undefined {
  const value = body[key];
  if (value === undefined || value === null || value === "") return undefined;
  if (typeof value !== "string") throw new UsageError(`"${key}" must be text, got ${JSON.stringify(value)}`);
  return value;
}

async function readJson(request: IncomingMessage): Promise<Record<string, unknown>> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of request) {
    size += (chunk as Buffer).length;
    if (size > MAX_BODY_BYTES) throw new UsageError(`an action's body is at most ${MAX_BODY_BYTES} bytes`, { code: "too_large" });
    chunks.push(chunk as Buffer);
  }
  const text = Buffer.concat(chunks).toString("utf8");
  if (text.trim() === "") return {};
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new UsageError("the action's body is not JSON", { code: "bad_json" });
  }
  if (parsed === null || typeof parsed !== "object" || Array.isArray(parsed)) throw new UsageError("the action's body must be a JSON object", { code: "bad_json" });
  return parsed as Record<string, unknown>;
}

/**
 * Without a token the server trusts whoever reaches it, so it answers only requests addressed to
 * it by a loopback name (a page on another site that rebinds its own name to 127.0.0.1 sends its
 * own name as Host). With a token, any Host: the token is the check.
 */
function hostAllowed(header: string | undefined, bound: string, port: number, tokenSet: boolean): boolean {
  if (tokenSet) return true;
  if (header === undefined) return false;
  const match = /^(\[[^\]]+\]|[^:]+)(?::(\d+))?$/.exec(header);
  if (match === null) return false;
  return isLoopback(match[1] as string) && (match[2] === undefined || Number(match[2]) === port) && isLoopback(bound);
}

function bearer(request: IncomingMessage): string | undefined {
  const header = request.headers.authorization;
  return header?.startsWith("Bearer ") ? header.slice("Bearer ".length).trim() : undefined;
}

function cookie(request: IncomingMessage, name: string): string | undefined {
  for (const part of (request.headers.cookie ?? "").split(";")) {
    const [key, ...value] = part.trim().split("=");
    if (key === name) {
      try {
        return decodeURIComponent(value.join("="));
      } catch {
        return undefined;
      }
    }
  }
  return undefined;
}

const digest = (text: string) => createHash("sha256").update(text).digest();
const equalDigest = (a: Buffer, b: Buffer) => timingSafeEqual(a, b);

/**
 * A password in a backend URI (`postgres://user:secret@host/db`, as a dead letter's source or an
 * error message may name it), starred: the page shows where things are, never a credential.
 */
export function withoutPasswords(text: string): string {
  return text.replace(/([a-z][a-z0-9+.-]*:\/\/[^:/@\s"]*):[^@/\s"]+@/gi, "$1:***@");
}

function sendJson(response: ServerResponse, status: number, body: unknown): void {
  response.writeHead(status, { "content-type": "application/json; charset=utf-8" }).end(withoutPasswords(JSON.stringify(body)));
}

function sendText(response: ServerResponse, status: number, text: string): void {
  response.writeHead(status, { "content-type": "text/plain; charset=utf-8" }).end(`${text}\n`);
}
