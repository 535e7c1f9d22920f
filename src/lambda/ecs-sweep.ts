/**
 * On Lambda an `ecs:` task has no watcher (a process would not outlive the invocation), so the
 * scheduled timer does the watcher's stopping: it lists the running tasks of the definitions'
 * ECS task families on their clusters, reads each one's token from its overrides, and stops those
 * whose step was settled without them (their timeout fired, an operator aborted the instance or
 * sent it an event), as a worker's watcher does. A task that reported, or that is not
 * Switchyard's, is left alone.
 */
import type { Switchyard } from "../client/switchyard.js";
import { SETTLED_WITHOUT_REPORT, TASK_ENV } from "../client/task-launcher.js";
import { ecsTasksOf } from "../core/machine.js";
import type { EcsTaskDefinition } from "../core/task.js";
import type { Logger } from "../logger.js";
import { loadEcsTasks } from "../settings/backends.js";

/** What one sweep did. */
export interface EcsSweep {
  /** Running Switchyard tasks found. */
  readonly running: number;
  /** Of them, stopped (their step was settled without them). */
  readonly stopped: number;
}

/** The `ecs:` tasks of the loaded machines, one per cluster and task definition (the family is looked up per task). */
export function sweptTasks(sy: Switchyard): EcsTaskDefinition[] {
  return [...new Map(ecsTasksOf(sy.definitions).map((task) => [`${task.cluster}\0${task.taskDefinition}`, task])).values()];
}

/**
 * Stop the running tasks of `tasks` (see {@link sweptTasks}) whose step was settled without them,
 * until `deadline` (ms since the epoch): the rest wait for the next run.
 */
export async function sweepEcsTasks(sy: Switchyard, tasks: readonly EcsTaskDefinition[], logger: Logger, deadline: number): Promise<EcsSweep> {
  const ecs = await loadEcsTasks();
  let running = 0;
  let stopped = 0;
  const families = new Set<string>();
  for (const task of tasks) {
    const family = ecs.taskFamily(task.taskDefinition);
    if (families.has(`${task.cluster}\0${family}`) || Date.now() >= deadline) continue;
    families.add(`${task.cluster}\0${family}`);
    const client = ecs.ecsClient(task, sy.settings.endpoints);
    try {
      const found = await ecs.runningTasksWith(client, task.cluster, family, TASK_ENV.token);
      running += found.length;
      for (const { taskArn, value: token } of found) {
        if (Date.now() >= deadline) break;
        if ((await sy.taskStanding(token)) !== "stop") continue;
        const failed = await ecs.stopEcsTask(client, task.cluster, taskArn, SETTLED_WITHOUT_REPORT);
        if (failed === undefined) {
          stopped++;
          logger.info(`timer: stopped ECS task ${taskArn}: ${SETTLED_WITHOUT_REPORT}`, { cluster: task.cluster });
        } else {
          logger.warn(`timer: could not stop ECS task ${taskArn}: ${failed}`, { cluster: task.cluster });
        }
      }
    } catch (error) {
      logger.error(`timer: cannot list the ECS tasks of ${task.taskDefinition} on cluster ${task.cluster}: ${(error as Error).message}`, { cluster: task.cluster });
    } finally {
      client.destroy();
    }
  }
  return { running, stopped };
}
