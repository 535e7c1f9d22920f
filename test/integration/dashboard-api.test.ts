/**
 * The dashboard's JSON API and its guards, hit directly over HTTP: a real `serveDashboard` on a
 * free port over the embedded SQLite default, with instances in every status of the dashboard
 * fixture, driven by a real worker.
 */
import { copyFileSync, mkdtempSync, rmSync } from "node:fs";
import { request } from "node:http";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Switchyard } from "../../src/client/switchyard.js";
import { type DashboardServer, serveDashboard, withoutPasswords } from "../../src/dashboard/server.js";
import { silentLogger } from "../../src/logger.js";
import { ROOT } from "../support/cli.js";

const FIXTURE = path.join(ROOT, "test/fixtures/dashboard");

/** What GET /api/instances/<id> answers, as far as these tests read it. */
interface Detail {
  instance: Record<string, unknown>;
  events: string[];
  path: unknown;
  history: Array<{ current_state: string; current_event: string }>;
  attempts: unknown[];
  fenceToken: number;
  diagram: { nodes: unknown[] };
}

let dir: string;
let sy: Switchyard;
let dashboard: DashboardServer;

async function drain(): Promise<void> {
  await sy.worker({ concurrency: 4, stopWhenIdle: async () => (await sy.pending()) === 0 }).run();
}

/** A raw HTTP request, so tests can send any Host and headers (fetch fixes some of them). */
function http(
  url: string,
  options: { method?: string; headers?: Record<string, string>; body?: string } = {},
): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; text: string; json: () => Record<string, unknown> }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method: options.method ?? "GET", headers: options.headers }, (res) => {
      let text = "";
      res.setEncoding("utf8");
      res.on("data", (chunk) => (text += chunk));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, headers: res.headers, text, json: () => JSON.parse(text) as Record<string, unknown> }));
    });
    req.on("error", reject);
    req.end(options.body);
  });
}

const get = (dashboardUrl: string, route: string, headers: Record<string, string> = {}) => http(new URL(route, dashboardUrl).toString(), { headers });
const post = (route: string, body: unknown, headers: Record<string, string> = {}) =>
  http(new URL(route, dashboard.url).toString(), { method: "POST", headers: { "content-type": "application/json", ...headers }, body: JSON.stringify(body) });

beforeAll(async () => {
  dir = mkdtempSync(path.join(tmpdir(), "switchyard-dashboard-api-"));
  for (const file of ["fsm.yaml", "actions.mjs"]) copyFileSync(path.join(FIXTURE, file), path.join(dir, file));
  sy = await Switchyard.open({ definitions: path.join(dir, "fsm.yaml"), cwd: dir, logger: silentLogger });
  for (const [correlationId, context] of [
    ["ord-a1", { amount: 10 }],
    ["ord-a2", { amount: 20 }],
    ["ord-b1", { amount: 0 }],
    ["ord_x1", { amount: 5, explode: true }],
  ] as const) {
    await sy.start("order", { correlationId, context });
    // Each in its own millisecond, so newest first is this order reversed.
    await new Promise((resolve) => setTimeout(resolve, 3));
  }
  await drain();
  dashboard = await serveDashboard(sy, { port: 0 });
}, 60_000);

afterAll(async () => {
  await dashboard?.close();
  await sy?.close();
  rmSync(dir, { recursive: true, force: true });
});

describe("dashboard pages and assets", () => {
  it("serves the page and its bundled assets with a strict content security policy", async () => {
    const page = await get(dashboard.url, "/");
    expect(page.status).toBe(200);
    expect(page.headers["content-type"]).toBe("text/html; charset=utf-8");
    expect(page.headers["content-security-policy"]).toBe(
      "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
    );
    expect(page.headers["x-content-type-options"]).toBe("nosniff");
    expect(page.text).toContain('<script type="module" src="/assets/app.js"></script>');
    // Everything the page loads comes from this server.
    expect(page.text).not.toMatch(/(src|href)="https?:/);
    const script = await get(dashboard.url, "/assets/app.js");
    expect(script.status).toBe(200);
    expect(script.headers["content-type"]).toBe("text/javascript; charset=utf-8");
    expect(script.text).not.toMatch(/https?:\/\/(?!www\.w3\.org\/2000\/svg)/);
    expect((await get(dashboard.url, "/assets/app.css")).status).toBe(200);
    expect((await get(dashboard.url, "/assets/../package.json")).status).toBe(404);
    expect((await get(dashboard.url, "/etc/passwd")).text).toBe("no page /etc/passwd; the dashboard is at /\n");
  });
});

describe("dashboard JSON API", () => {
  it("lists the machine with its versions and counts per status", async () => {
    const response = await get(dashboard.url, "/api/machines");
    expect(response.status).toBe(200);
    expect(response.headers["cache-control"]).toBe("no-store");
    const [machine] = response.json().machines as Array<Record<string, unknown>>;
    expect(machine).toEqual({
      name: "order",
      versions: [{ version: sy.definitions.get("order").version, deployedAt: expect.any(Number), loaded: true }],
      counts: { running: 0, waiting: 2, paused: 0, completed: 1, failed: 1, aborted: 0 },
    });
  });

  it("draws the machine with counts per state and the metrics role's counters per state", async () => {
    const view = (await get(dashboard.url, "/api/machines/order")).json() as {
      diagram: { nodes: Array<{ name: string; initial: boolean; final: boolean; onAbort: boolean; events: string[]; x: number }>; edges: Array<{ from: string; to: string; label: string; points: unknown[] }> };
      states: Record<string, Record<string, number>>;
      metrics: { states: Record<string, { processed: number; p50: number; errors: Record<string, number> }> };
    };
    expect(view.diagram.nodes.map((n) => n.name)).toEqual(["checking", "awaiting_payment", "shipped", "rejected", "cancelled", "refunded"]);
    const checking = view.diagram.nodes.find((n) => n.name === "checking");
    expect(checking).toMatchObject({ initial: true, final: false, events: ["ok", "bad"] });
    expect(view.diagram.nodes.find((n) => n.name === "refunded")).toMatchObject({ final: true, onAbort: true });
    // Laid out left to right: the initial state comes before the states it leads to.
    expect(checking?.x).toBeLessThan(view.diagram.nodes.find((n) => n.name === "awaiting_payment")?.x ?? 0);
    expect(view.diagram.edges.map((e) => `${e.from}-${e.label}->${e.to}`)).toEqual([
      "checking-ok->awaiting_payment",
      "checking-bad->rejected",
      "awaiting_payment-paid->shipped",
      "awaiting_payment-cancel->cancelled",
    ]);
    for (const edge of view.diagram.edges) expect(edge.points.length).toBeGreaterThanOrEqual(2);
    expect(view.states).toEqual({
      awaiting_payment: { running: 0, waiting: 2, paused: 0, completed: 0, failed: 0, aborted: 0 },
      rejected: { running: 0, waiting: 0, paused: 0, completed: 1, failed: 0, aborted: 0 },
      checking: { running: 0, waiting: 0, paused: 0, completed: 0, failed: 1, aborted: 0 },
    });
    // Timed processings (docs/cli.md#metrics): the four start messages (each instance moved on or
    // ended), and ord-b1's check that ended it; the two checks that left instances waiting are not
    // timed until their next message. The failed start is the metrics role's one fatal error.
    expect(view.metrics.states).toEqual({ checking: { processed: 5, p50: expect.any(Number), p99: expect.any(Number), errors: { fatal: 1 } } });
  });

  it("lists instances newest first with every filter, and pages with the cursor", async () => {
    const ids = async (query: string) => ((await get(dashboard.url, `/api/instances${query}`)).json().instances as Array<{ correlationId: string }>).map((i) => i.correlationId);
    expect(await ids("")).toEqual(["ord_x1", "ord-b1", "ord-a2", "ord-a1"]);
    expect(await ids("?status=waiting")).toEqual(["ord-a2", "ord-a1"]);
    expect(await ids("?machine=order&state=rejected")).toEqual(["ord-b1"]);
    expect(await ids("?prefix=ord-a")).toEqual(["ord-a2", "ord-a1"]);
    // The prefix is literal text: _ matches itself only (not "-").
    expect(await ids("?prefix=ord_")).toEqual(["ord_x1"]);
    expect(await ids(`?version=${sy.definitions.get("order").version}&status=failed`)).toEqual(["ord_x1"]);
    expect(await ids("?version=unversioned")).toEqual([]);
    const first = (await get(dashboard.url, "/api/instances?limit=3")).json() as { instances: Array<{ correlationId: string; context?: unknown }>; next: string };
    expect(first.instances.map((i) => i.correlationId)).toEqual(["ord_x1", "ord-b1", "ord-a2"]);
    // The list leaves the user context out: it can be large, and the instance page shows it.
    expect(first.instances[0]?.context).toBeUndefined();
    expect(await ids(`?limit=3&after=${encodeURIComponent(first.next)}`)).toEqual(["ord-a1"]);
    const bad = await get(dashboard.url, "/api/instances?status=sleeping");
    expect(bad.status).toBe(400);
    expect(bad.json().message).toBe('status must be one of running, waiting, paused, completed, failed, aborted, got "sleeping"');
  });

  it("shows one instance with its history, the path it took and the events its state takes", async () => {
    const detail = (await get(dashboard.url, "/api/instances/ord-a1")).json() as unknown as Detail;
    expect(detail.instance).toMatchObject({ correlationId: "ord-a1", status: "waiting", state: "awaiting_payment", context: { amount: 10, checked: true, invoice: "INV-10" } });
    expect(detail.events).toEqual(["paid", "cancel"]);
    expect(detail.path).toEqual({ edges: [{ from: "checking", event: "ok", to: "awaiting_payment", count: 1 }], visits: { checking: 1, awaiting_payment: 1 } });
    expect(detail.history.map((m) => `${m.current_state}/${m.current_event}`)).toEqual(["pseudo_init/pseudo_init", "checking/ok"]);
    expect(detail.fenceToken).toBeGreaterThan(0);
    expect(detail.diagram.nodes).toHaveLength(6);
    const failed = (await get(dashboard.url, "/api/instances/ord_x1")).json() as unknown as Detail;
    // It failed entering its initial state: its record is still at the start.
    expect(failed.instance).toMatchObject({ status: "failed", state: "pseudo_init" });
    expect(failed.attempts).toEqual([expect.objectContaining({ outcome: "fatal", error: "the order check exploded", slot: "do_action" })]);
    const missing = await get(dashboard.url, "/api/instances/nope");
    expect(missing.status).toBe(404);
    expect(missing.json().message).toMatch(/^no instance with correlation id "nope" in sqlite:.*; check the id and --settings$/);
  });

  it("sends an event and aborts through the actions, as the CLI would", async () => {
    const sent = await post("/api/instances/ord-a2/events", { event: "paid", data: { by: "card" } });
    expect(sent.status).toBe(200);
    expect(sent.json()).toMatchObject({ correlationId: "ord-a2", event: "paid", state: "awaiting_payment", steps: 2 });
    const aborted = await post("/api/instances/ord-a1/abort", { reason: "customer left" });
    expect(aborted.json()).toMatchObject({ correlationId: "ord-a1", requested: true, reason: "customer left" });
    await drain();
    expect(await sy.status("ord-a2")).toMatchObject({ status: "completed", state: "shipped" });
    expect(await sy.status("ord-a1")).toMatchObject({ status: "aborted", state: "refunded", reason: "customer left" });
    const unknownEvent = await post("/api/instances/ord-b1/events", {});
    expect(unknownEvent.status).toBe(400);
    expect(unknownEvent.json().message).toBe('send an event as {"event": "<name>", "data": <any JSON>}');
  });

  it("pauses and resumes a machine at a state", async () => {
    expect((await post("/api/machines/order/pause", { state: "checking" })).json()).toEqual({ paused: { machine: "order", state: "checking" } });
    expect((await get(dashboard.url, "/api/pauses")).json()).toEqual({ pauses: [{ machineName: "order", state: "checking" }] });
    expect((await post("/api/machines/order/resume", { state: "checking" })).json()).toEqual({ resent: 0, stillHeld: 0 });
    expect((await get(dashboard.url, "/api/pauses")).json()).toEqual({ pauses: [] });
  });

  it("refuses actions that are not JSON, from another origin, or to no route", async () => {
    const form = await http(new URL("/api/instances/ord-b1/abort", dashboard.url).toString(), { method: "POST", headers: { "content-type": "application/x-www-form-urlencoded" }, body: "reason=x" });
    expect(form.status).toBe(415);
    const foreign = await post("/api/instances/ord-b1/abort", {}, { origin: "http://evil.example" });
    expect(foreign.status).toBe(403);
    expect(foreign.json().message).toBe("actions come from the dashboard's own page, not from http://evil.example");
    expect((await post("/api/nothing", {})).status).toBe(404);
    expect((await http(new URL("/api/machines", dashboard.url).toString(), { method: "DELETE" })).status).toBe(405);
    // A page on another site that rebinds its name to 127.0.0.1 arrives with its own Host.
    const rebound = await get(dashboard.url, "/api/machines", { host: "evil.example" });
    expect(rebound.status).toBe(421);
  });
});

describe("dashboard guards", () => {
  it("stars the password of any backend URI in what the API answers", () => {
    expect(withoutPasswords('{"sourceUri":"postgres://app:s3cr%40t@db:5432/prod?schema=x","other":"redis://:pw@cache:6379/0"}')).toBe(
      '{"sourceUri":"postgres://app:***@db:5432/prod?schema=x","other":"redis://:***@cache:6379/0"}',
    );
    expect(withoutPasswords("sqlite:.switchyard/switchyard.db and https://example.com/a@b")).toBe("sqlite:.switchyard/switchyard.db and https://example.com/a@b");
  });

  it("refuses to bind beyond loopback without a token", async () => {
    await expect(serveDashboard(sy, { port: 0, host: "0.0.0.0" })).rejects.toThrow(
      "the dashboard binds to 0.0.0.0, beyond this machine, so it needs a token: pass --token <secret> or set SWITCHYARD_DASHBOARD_TOKEN (or bind to 127.0.0.1)",
    );
  });

  it("checks the token on every request beyond loopback: API, page and assets; the page trades it for a cookie", async () => {
    const guarded = await serveDashboard(sy, { port: 0, host: "0.0.0.0", token: "s3cret" });
    try {
      const url = `http://127.0.0.1:${guarded.port}/`;
      for (const route of ["/", "/assets/app.js", "/api/machines", "/api/instances/ord-a1"]) {
        const refused = await get(url, route);
        expect(refused.status, route).toBe(401);
        expect(refused.text).toBe("this dashboard needs its token: open /?token=<token> once, or send Authorization: Bearer <token>\n");
      }
      expect((await get(url, "/api/machines", { authorization: "Bearer wrong" })).status).toBe(401);
      expect((await get(url, "/api/machines", { authorization: "Bearer s3cret" })).status).toBe(200);
      const login = await get(url, "/?token=s3cret");
      expect(login.status).toBe(303);
      expect(login.headers.location).toBe("/");
      expect(login.headers["set-cookie"]).toEqual(["switchyard_token=s3cret; HttpOnly; SameSite=Strict; Path=/"]);
      expect((await get(url, "/api/machines", { cookie: "switchyard_token=s3cret" })).status).toBe(200);
      expect((await get(url, "/", { cookie: "other=1; switchyard_token=s3cret" })).status).toBe(200);
    } finally {
      await guarded.close();
    }
  });

  it("a read-only dashboard shows everything and refuses every action", async () => {
    const readOnly = await serveDashboard(sy, { port: 0, readOnly: true });
    try {
      expect((await get(readOnly.url, "/api/config")).json()).toEqual({ readOnly: true, refreshMs: 2000 });
      const refused = await http(new URL("/api/instances/ord-b1/abort", readOnly.url).toString(), { method: "POST", headers: { "content-type": "application/json" }, body: "{}" });
      expect(refused.status).toBe(403);
      expect(JSON.parse(refused.text).message).toBe("this dashboard is read-only (--read-only): it takes no actions");
      expect((await get(readOnly.url, "/api/instances")).status).toBe(200);
    } finally {
      await readOnly.close();
    }
  });
});
