/**
 * The dashboard in a real headless Chromium (Debian's package, driven by playwright-core), served
 * by the real `switchyard dashboard` process over the embedded SQLite default while the CLI starts
 * instances and runs workers: the machines page's diagram and counts, the list with its filters
 * and its live refresh, the instance page's current state, an abort clicked through its
 * confirmation and seen by `switchyard status`, the order example followed live while a worker
 * runs it, and the token beyond loopback. Screenshots go to
 * test-results/dashboard/.
 */
import type { ChildProcess } from "node:child_process";
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { type Browser, type Page, chromium } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ROOT, runCli, spawnCli } from "../support/cli.js";

const FIXTURE = path.join(ROOT, "test/fixtures/dashboard");
const CHROMIUM = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";
const SHOTS = path.join(ROOT, "test-results/dashboard");

// Without the browser there is nothing to drive: say so (CI installs it, and fails without it).
const noBrowser = existsSync(CHROMIUM) ? undefined : `no Chromium at ${CHROMIUM} (apt-get install -y chromium, or set CHROMIUM_PATH)`;
if (noBrowser !== undefined) {
  if (process.env.CI) throw new Error(`the dashboard browser tests need Chromium: ${noBrowser}`);
  console.warn(`skipping the dashboard browser tests: ${noBrowser}`);
}

let dir: string;
let browser: Browser;
const servers: ChildProcess[] = [];

const cli = async (...args: string[]) => {
  const result = await runCli(args, { cwd: dir, timeoutMs: 60_000 });
  expect(result.code, `switchyard ${args.join(" ")}: ${result.stderr}`).toBe(0);
  return result.stdout;
};

/** Start `switchyard dashboard` with `args` (in `where.cwd`, on `where.definitions`); resolves to its URL once it listens. */
function startDashboard(where: { cwd?: string; definitions?: string } = {}, ...args: string[]): Promise<string> {
  const child = spawnCli(["dashboard", "-d", where.definitions ?? "fsm.yaml", "--port", "0", ...args], { cwd: where.cwd ?? dir });
  servers.push(child);
  return new Promise((resolve, reject) => {
    let stderr = "";
    const timer = setTimeout(() => reject(new Error(`the dashboard did not start: ${stderr}`)), 20_000);
    child.stderr?.on("data", (chunk) => {
      stderr += chunk;
      const match = /dashboard on (http:\/\/\S+?\/)/.exec(stderr);
      if (match !== null) {
        clearTimeout(timer);
        resolve((match[1] as string).replace("0.0.0.0", "127.0.0.1"));
      }
    });
    child.on("exit", (code) => reject(new Error(`the dashboard exited with ${code}: ${stderr}`)));
  });
}

async function shot(page: Page, name: string): Promise<void> {
  await page.screenshot({ path: path.join(SHOTS, `${name}.png`), fullPage: true });
}

describe.skipIf(noBrowser !== undefined)("the dashboard in Chromium", () => {
  let url: string;
  let page: Page;

  beforeAll(async () => {
    mkdirSync(SHOTS, { recursive: true });
    dir = mkdtempSync(path.join(tmpdir(), "switchyard-dashboard-ui-"));
    for (const file of ["fsm.yaml", "actions.mjs"]) copyFileSync(path.join(FIXTURE, file), path.join(dir, file));
    for (const [id, context] of [
      ["ord-a1", '{"amount": 10}'],
      ["ord-a2", '{"amount": 25}'],
      ["ord-b1", '{"amount": 0}'],
      ["ord-x1", '{"amount": 5, "explode": true}'],
    ] as const) {
      await cli("start", "order", "-d", "fsm.yaml", "--correlation-id", id, "--context", context);
    }
    await cli("worker", "-d", "fsm.yaml", "--until-idle", "-q");
    url = await startDashboard();
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
    });
    page = await browser.newPage({ viewport: { width: 1280, height: 860 } });
    page.on("pageerror", (error) => {
      throw error;
    });
  }, 90_000);

  afterAll(async () => {
    await browser?.close();
    for (const server of servers) server.kill("SIGTERM");
    if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
  });

  it("the machines page draws the machine with its instances per state", async () => {
    await page.goto(url);
    const waiting = page.locator('article[data-machine="order"] g.state[data-state="awaiting_payment"]');
    await waiting.locator("text.state-note").waitFor();
    expect(await waiting.locator("text.state-note").textContent()).toBe("2 waiting");
    expect(await page.locator('g.state[data-state="checking"]').getAttribute("class")).toBe("state initial has-failed");
    expect(await page.locator('a.count[data-status="failed"] b').textContent()).toBe("1");
    expect(await page.locator("g.edge").count()).toBe(4);
    await shot(page, "machines");
  });

  it("the list filters by status, state and id prefix, and follows new instances live", async () => {
    await page.goto(`${url}#/instances`);
    const rows = page.locator("table.instances tbody tr[data-id]");
    await rows.first().waitFor();
    expect(await rows.evaluateAll((trs) => trs.map((tr) => tr.getAttribute("data-id")))).toEqual(["ord-x1", "ord-b1", "ord-a2", "ord-a1"]);
    await shot(page, "instances");
    await page.selectOption('select[name="status"]', "waiting");
    await page.waitForFunction("location.hash === '#/instances?status=waiting'");
    await page.locator('table.instances tbody tr[data-id="ord-b1"]').waitFor({ state: "detached" });
    expect(await rows.evaluateAll((trs) => trs.map((tr) => tr.getAttribute("data-id")))).toEqual(["ord-a2", "ord-a1"]);
    await page.goto(`${url}#/instances?state=rejected`);
    await page.locator('tr[data-id="ord-b1"]').waitFor();
    expect(await rows.count()).toBe(1);
    await page.fill('input[name="prefix"]', "ord-a");
    await page.locator('input[name="prefix"]').dispatchEvent("change");
    await page.waitForFunction("location.hash === '#/instances?state=rejected&prefix=ord-a'");
    await page.locator("td.muted", { hasText: "No instances match." }).waitFor();

    // Live: an instance started now shows up without a reload.
    await page.goto(`${url}#/instances?prefix=ord-`);
    await rows.first().waitFor();
    await cli("start", "order", "-d", "fsm.yaml", "--correlation-id", "ord-c1", "--context", '{"amount": 3}');
    await page.locator('tr[data-id="ord-c1"]').waitFor({ timeout: 15_000 });
    expect(await page.locator('tr[data-id="ord-c1"] [data-status]').textContent()).toBe("running");
    await cli("worker", "-d", "fsm.yaml", "--until-idle", "-q");
    await page.locator('tr[data-id="ord-c1"] [data-status="waiting"]').waitFor({ timeout: 15_000 });
  });

  it("the instance page lights the current state and the path taken", async () => {
    await page.goto(`${url}#/instances/ord-a1`);
    const current = page.locator("g.state.current");
    await current.waitFor();
    expect(await current.getAttribute("data-state")).toBe("awaiting_payment");
    expect(await page.locator("g.edge.taken").evaluateAll((edges) => edges.map((e) => `${e.getAttribute("data-from")}->${e.getAttribute("data-to")}`))).toEqual([
      "checking->awaiting_payment",
    ]);
    expect(await page.locator(".facts [data-status]").textContent()).toBe("waiting");
    expect(await page.locator("table.timeline tbody tr").count()).toBe(2);
    await page.locator("table.timeline details summary").nth(1).click();
    expect(await page.locator("table.timeline ul.diff").nth(1).textContent()).toBe("+ checked: true");
    // The entry action of the state it waits in ran after that message: the record has it.
    expect(await page.locator(".current-context ul.diff").textContent()).toBe('+ invoice: "INV-10"');
    await shot(page, "instance");
  });

  it("abort, clicked and confirmed, ends the instance aborted in the page and in switchyard status", async () => {
    await page.goto(`${url}#/instances/ord-a2`);
    await page.locator('button[data-act="abort"]').click();
    const dialog = page.locator("dialog[open]");
    await dialog.locator('input[name="reason"]').fill("customer changed their mind");
    await dialog.locator("button.confirm-button").click();
    await page.locator(".toast.show", { hasText: "done" }).waitFor();
    await cli("worker", "-d", "fsm.yaml", "--until-idle", "-q");
    await page.locator('.facts [data-status="aborted"]').waitFor({ timeout: 15_000 });
    expect(await page.locator("g.state.current").getAttribute("data-state")).toBe("refunded");
    const status = JSON.parse(await cli("status", "ord-a2", "--json")) as Record<string, unknown>;
    expect(status).toMatchObject({ status: "aborted", state: "refunded", reason: "customer changed their mind" });
    await shot(page, "instance-aborted");
  });

  it("shows the order example's instances live while a worker runs", async () => {
    const example = path.join(ROOT, "examples/order-pipeline/fsm.yaml");
    const shop = mkdtempSync(path.join(tmpdir(), "switchyard-dashboard-orders-"));
    const orders = Array.from({ length: 24 }, (_, i) => {
      const items = i % 8 === 5 ? [{ sku: "sprocket", qty: 0 }] : [{ sku: "widget", qty: 1 }];
      return JSON.stringify({ machine: "order", correlation_id: `order-${String(i + 1).padStart(2, "0")}`, context: { order_id: `A-${1000 + i}`, items, card: i % 4 === 1 ? "timeout_once" : "ok", transit_seconds: 2 } });
    });
    writeFileSync(path.join(shop, "orders.jsonl"), `${orders.join("\n")}\n`);
    const inShop = async (...args: string[]) => {
      const result = await runCli(args, { cwd: shop, timeoutMs: 60_000 });
      expect(result.code, `switchyard ${args.join(" ")}: ${result.stderr}`).toBe(0);
    };
    await inShop("start", "-d", example, "--from", "orders.jsonl");
    const dashboardUrl = await startDashboard({ cwd: shop, definitions: example });
    const live = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    try {
      await live.goto(dashboardUrl);
      const ended = live.locator('article[data-machine="order"] a.count[data-status="completed"] b');
      await ended.waitFor();
      expect(await ended.textContent()).toBe("0");
      const worker = spawnCli(["worker", "-d", example, "--concurrency", "4", "-q"], { cwd: shop });
      servers.push(worker);
      // Without reloading, the page follows the instances to their ends: every count it shows
      // on the way is at least the one before.
      const seen: number[] = [];
      const deadline = Date.now() + 60_000;
      let shotTaken = false;
      while (Date.now() < deadline) {
        const now = Number(await ended.textContent());
        if (seen[seen.length - 1] !== now) seen.push(now);
        if (!shotTaken && now > 0 && now < orders.length) {
          await shot(live, "order-machines-live");
          shotTaken = true;
        }
        if (now === orders.length) break;
        await new Promise((resolve) => setTimeout(resolve, 250));
      }
      expect(seen[seen.length - 1]).toBe(orders.length);
      expect(seen.length, `counts seen: ${seen.join(", ")}`).toBeGreaterThanOrEqual(3);
      expect([...seen].sort((a, b) => a - b)).toEqual(seen);
      expect(await live.locator('g.state[data-state="delivered"]').count()).toBe(1);
      await shot(live, "order-machines");
      await live.goto(`${dashboardUrl}#/instances?machine=order`);
      await live.locator("table.instances tbody tr[data-id]").first().waitFor();
      await shot(live, "order-instances");
      await live.goto(`${dashboardUrl}#/instances/order-02`);
      await live.locator("g.state.current").waitFor();
      expect(await live.locator("g.state.current").getAttribute("data-state")).toBe("delivered");
      expect(await live.locator("g.edge.taken").evaluateAll((edges) => edges.map((e) => e.getAttribute("data-event")))).toEqual(["valid", "reserved", "charged", "shipped"]);
      await shot(live, "order-instance");
    } finally {
      await live.close();
      rmSync(shop, { recursive: true, force: true });
    }
  });

  it("bound beyond loopback, a request without the token is refused; the token opens the page", async () => {
    const guarded = await startDashboard({}, "--host", "0.0.0.0", "--token", "open-sesame", "--read-only");
    const refused = await fetch(`${guarded}api/instances`);
    expect(refused.status).toBe(401);
    const other = await browser.newPage();
    const denied = await other.goto(guarded);
    expect(denied?.status()).toBe(401);
    await other.goto(`${guarded}?token=open-sesame`);
    await other.locator('article[data-machine="order"]').waitFor();
    expect(new URL(other.url()).search).toBe("");
    // Read-only: no action buttons.
    expect(await other.locator("button[data-act]").count()).toBe(0);
    expect(await other.locator("#mode").textContent()).toBe("read-only");
    await other.close();
  });
});
