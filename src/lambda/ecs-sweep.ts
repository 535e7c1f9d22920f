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

/** The `ecs:` tasks of the loaded machines, one per cluster and family. */
function ecsTasksOf(sy: Switchyard, family: (taskDefinition: string) => string): EcsTaskDefinition[] {
  const seen = new Map<string, EcsTaskDefinition>();
  for (const machine of sy.definitions.machines.values()) {
    for (const state of machine.states.values()) {
      const task = state.task;
      if (task?.kind === "ecs") seen.set(`${task.cluster}\0${family(task.taskDefinition)}`, task as EcsTaskDefinition);
    }
  }
  return [...seen.values()];
}

/** Stop the running tasks whose step was settled without them; undefined when no machine has an `ecs:` task. */
export async function sweepEcsTasks(sy: Switchyard, logger: Logger): Promise<EcsSweep | undefined> {
  const hasEcs = [...sy.definitions.machines.values()].some((machine) => [...machine.states.values()].some((state) => state.task?.kind === "ecs"));
  if (!hasEcs) return undefined;
  const ecs = await loadEcsTasks();
  let running = 0;
  let stopped = 0;
  for (const task of ecsTasksOf(sy, ecs.taskFamily)) {
    const client = ecs.ecsClient(task, sy.settings.endpoints);
    try {
      const tasks = await ecs.runningTasksWith(client, task.cluster, ecs.taskFamily(task.taskDefinition), TASK_ENV.token);
      running += tasks.length;
      for (const { taskArn, value: token } of tasks) {
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
