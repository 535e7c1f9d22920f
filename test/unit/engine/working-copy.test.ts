/**
 * The actions work on the decoded message itself (no copy on the happy path), so whatever reads
 * the message as received after them must get it afresh: retries, the failed record, the journal.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { Switchyard } from "../../../src/client/switchyard.js";
import type { ActionContext } from "../../../src/core/action.js";
import { defineMachines } from "../../../src/definition/index.js";
import { silentLogger } from "../../../src/logger.js";
import { TestClock } from "../../support/clock.js";

let dir: string | undefined;
let sy: Switchyard | undefined;

afterEach(async () => {
  await sy?.close();
  sy = undefined;
  if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
  dir = undefined;
});

/** Counts, appends to a list, then throws on the attempts listed in `fail` ("steps:retries"). */
function scribble(ctx: ActionContext): string {
  ctx.data.count = ((ctx.data.count as number | undefined) ?? 0) + 1;
  (ctx.data.seen as string[]).push(`${ctx.steps}:${ctx.retries}`);
  if ((ctx.data.fail as string[]).includes(`${ctx.steps}:${ctx.retries}`)) throw new Error(`failed at ${ctx.steps}:${ctx.retries}`);
  return "done";
}

async function open(): Promise<{ sy: Switchyard; clock: TestClock }> {
  dir = mkdtempSync(path.join(tmpdir(), "switchyard-working-copy-"));
  const uri = `sqlite:${dir}/a.db`;
  const definitions = await defineMachines({
    machines: [
      {
        name: "scribbler",
        max_retries: 1,
        states: [
          { name: "writing", initial: true, do_action: scribble, transitions: [{ event: "done", target: "written" }] },
          { name: "written", final: true },
        ],
      },
    ],
  });
  const clock = new TestClock(Date.UTC(2026, 0, 1));
  const settings = Switchyard.settings({ stream: uri, retry: uri, cache: uri, checkpoint: uri, journal: uri }, dir);
  sy = await Switchyard.open({ definitions, settings, clock, logger: silentLogger });
  return { sy, clock };
}

/** Process until nothing is pending, moving the clock past backoffs. */
async function drain(sy: Switchyard, clock: TestClock): Promise<void> {
  for (let round = 0; round < 20; round++) {
    let processed = false;
    for (const source of sy.sources) {
      const [delivery] = await source.receive({ max: 1, visibilityTimeoutSeconds: 30 });
      if (delivery === undefined) continue;
      await sy.engine.process(delivery);
      await source.ack(delivery);
      processed = true;
    }
    if (processed) continue;
    // Nothing was due: done when nothing is pending either, else let the retries fall due.
    if ((await sy.pending()) === 0) {
      return;
    }
    clock.advance(61_000);
  }
  throw new Error("drain: still busy after 20 rounds");
}

describe("the actions' working copy of the message", () => {
  it("a retry starts from the message as received, without the failed attempt's changes", async () => {
    const { sy, clock } = await open();
    const { correlationId } = await sy.start("scribbler", { context: { fail: ["0:0"], seen: [] } });
    await drain(sy, clock);
    const retried = (await sy.history(correlationId)).find((m) => m.retries === 1);
    expect(retried?.user_context).toEqual({ fail: ["0:0"], seen: [] });
    expect(await sy.status(correlationId)).toMatchObject({ status: "completed", userContext: { fail: ["0:0"], seen: ["0:1"], count: 1 } });
  });

  it("a failed instance keeps the context it was received with, not the last attempt's", async () => {
    const { sy, clock } = await open();
    const { correlationId } = await sy.start("scribbler", { context: { fail: ["0:0", "0:1"], seen: [] } });
    await drain(sy, clock);
    expect(await sy.status(correlationId)).toMatchObject({ status: "failed", state: "pseudo_init", userContext: { fail: ["0:0", "0:1"], seen: [] } });
  });
});
