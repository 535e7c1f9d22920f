/**
 * What the multi-process cluster tests share: run `switchyard worker` processes against one
 * settings file and SIGKILL the first once it has done a share of the work, then check the effects
 * log the crash fixture's action writes (`pid correlation_id steps retries fence` per execution).
 */
import { expect } from "vitest";
import { finished, spawnCli } from "./cli.js";
import { lines, waitFor } from "./servers.js";

export interface KilledRun {
  /** The pid of the worker that was killed. */
  readonly victim: number;
}

/** Run `workers` workers until idle, killing the first after `killAfter` executions; the others must exit 0. */
export async function runWorkersKillingOne(options: {
  fsm: string;
  settingsFile: string;
  dir: string;
  effects: string;
  workers: number;
  concurrency: number;
  killAfter: number;
}): Promise<KilledRun> {
  const args = ["worker", "-d", options.fsm, "--settings", options.settingsFile, "--concurrency", String(options.concurrency), "--until-idle", "--quiet"];
  const workers = Array.from({ length: options.workers }, () => spawnCli(args, { cwd: options.dir, env: { CRASH_EFFECTS: options.effects } }));
  const results = workers.map((child) => finished(child, 240_000));
  const victim = workers[0]?.pid;
  if (victim === undefined) throw new Error("worker did not start");
  // Kill one worker once it has done a share of the work, well before the end.
  await waitFor(() => lines(options.effects).filter((line) => line.startsWith(`${victim} `)).length >= options.killAfter, 120_000);
  workers[0]?.kill("SIGKILL");
  const outcomes = await Promise.all(results);
  expect(outcomes[0]?.signal).toBe("SIGKILL");
  for (const outcome of outcomes.slice(1)) expect(outcome.code, outcome.stderr).toBe(0);
  return { victim };
}

/**
 * Every (instance, step) ran; a step ran more than once only where the killed worker had run it
 * first, and at most `concurrency` such steps (its in-flight ones); fence tokens strictly grow
 * within an instance. Returns the pids that executed steps.
 */
export function checkExecutions(effects: string, options: { instances: number; steps: number; victim: number; concurrency: number }): Set<number> {
  const executions = lines(effects).map((line) => {
    const [pid, id, steps, _retries, fence] = line.split(" ");
    return { pid: Number(pid), key: `${id} ${steps}`, id: id as string, fence: Number(fence) };
  });
  const byKey = new Map<string, number[]>();
  for (const e of executions) byKey.set(e.key, [...(byKey.get(e.key) ?? []), e.pid]);
  expect(byKey.size).toBe(options.instances * options.steps);
  const repeated = [...byKey].filter(([, pids]) => pids.length > 1);
  const unexplained = repeated.filter(([, pids]) => pids.slice(0, -1).some((pid) => pid !== options.victim));
  expect(unexplained).toEqual([]);
  expect(repeated.length).toBeLessThanOrEqual(options.concurrency);
  const lastFence = new Map<string, number>();
  const backwards: string[] = [];
  for (const e of executions) {
    if (e.fence <= (lastFence.get(e.id) ?? 0)) backwards.push(`${e.key}: ${e.fence} after ${lastFence.get(e.id)}`);
    lastFence.set(e.id, e.fence);
  }
  expect(backwards).toEqual([]);
  return new Set(executions.map((e) => e.pid));
}
