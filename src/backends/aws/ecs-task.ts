/**
 * ECS task steps (docs/runtimes/containers.md#ecs): RunTask of the state's task definition with
 * the task's variables added to its container's environment, and StopTask (best effort) once its
 * step is settled without it. Loaded only when a worker starts an `ecs:` task, so the ECS client is
 * an optional peer like every other AWS SDK client.
 *
 * The region comes from the cluster's ARN, else the task definition's, else the SDK's default
 * chain (`AWS_REGION`); the endpoint from the settings' `endpoints`, by the cluster's name or ARN
 * first and then `ecs`.
 */
import { DescribeTasksCommand, ECSClient, type KeyValuePair, ListTasksCommand, RunTaskCommand, type RunTaskCommandInput, type RunTaskCommandOutput, StopTaskCommand, type Task } from "@aws-sdk/client-ecs";
import type { EcsTaskDefinition } from "../../core/task.js";
import { errorReason, requestHandler } from "./http.js";

/** A RunTask that started no task (an API error, or `failures` in the answer): a failed attempt of the step. */
export class EcsRunTaskError extends Error {
  override readonly name = "EcsRunTaskError";
}

/** The region an ARN names (`arn:aws:ecs:REGION:…`), or undefined for a bare name. */
function regionOf(nameOrArn: string): string | undefined {
  const parts = nameOrArn.split(":");
  return parts[0] === "arn" && parts.length >= 6 && parts[3] ? parts[3] : undefined;
}

/** The ECS client for a task: region and endpoint as the file comment says, bounded retries and timeouts. */
export function ecsClient(task: Pick<EcsTaskDefinition, "cluster" | "taskDefinition">, endpoints: Readonly<Record<string, string>>): ECSClient {
  const region = regionOf(task.cluster) ?? regionOf(task.taskDefinition);
  const endpoint = endpoints[task.cluster] ?? endpoints.ecs;
  return new ECSClient({
    ...(region === undefined ? {} : { region }),
    ...(endpoint === undefined ? {} : { endpoint }),
    maxAttempts: 2,
    requestHandler: requestHandler(),
  });
}

/**
 * The RunTask input: the task as written, its `overrides` with `variables` added to the
 * environment of its container (replacing variables of the same name written there).
 */
export function runTaskInput(task: EcsTaskDefinition, variables: Readonly<Record<string, string>>, startedBy: string): RunTaskCommandInput {
  const overrides = { ...(task.overrides ?? {}) } as NonNullable<RunTaskCommandInput["overrides"]>;
  const added: KeyValuePair[] = Object.entries(variables).map(([name, value]) => ({ name, value }));
  const containers = [...(overrides.containerOverrides ?? [])];
  const index = containers.findIndex((entry) => entry.name === task.container);
  const written = index === -1 ? { name: task.container } : containers[index];
  const environment = [...(written?.environment ?? []).filter((pair) => pair.name === undefined || !(pair.name in variables)), ...added];
  const merged = { ...written, name: task.container, environment };
  if (index === -1) containers.push(merged);
  else containers[index] = merged;
  return {
    cluster: task.cluster,
    taskDefinition: task.taskDefinition,
    count: 1,
    startedBy: startedBy.slice(0, 36),
    ...(task.launchType === undefined ? {} : { launchType: task.launchType }),
    ...(task.networkConfiguration === undefined ? {} : { networkConfiguration: task.networkConfiguration as RunTaskCommandInput["networkConfiguration"] }),
    overrides: { ...overrides, containerOverrides: containers },
  };
}

/** RunTask; returns the started task's ARN, or throws {@link EcsRunTaskError} with the reason. */
export async function runEcsTask(client: ECSClient, input: RunTaskCommandInput): Promise<string> {
  const what = `ECS RunTask of ${input.taskDefinition} on cluster ${input.cluster}`;
  let answer: RunTaskCommandOutput;
  try {
    answer = await client.send(new RunTaskCommand(input));
  } catch (error) {
    throw new EcsRunTaskError(`${what} failed: ${errorReason(error)}`, { cause: error });
  }
  const arn = answer.tasks?.[0]?.taskArn;
  if (arn !== undefined && (answer.failures ?? []).length === 0) return arn;
  const failures = (answer.failures ?? []).map((failure) => [failure.reason ?? "no reason", failure.arn, failure.detail].filter(Boolean).join(" ")).join("; ");
  throw new EcsRunTaskError(`${what} started no task: ${failures === "" ? "the answer names no task" : failures}`);
}

/** StopTask, best effort: a task already stopped, or an unreachable ECS, is left as it is; the reason is returned. */
export async function stopEcsTask(client: ECSClient, cluster: string, taskArn: string, reason: string): Promise<string | undefined> {
  try {
    await client.send(new StopTaskCommand({ cluster, task: taskArn, reason: reason.slice(0, 255) }));
    return undefined;
  } catch (error) {
    return errorReason(error);
  }
}

/** How an ECS task ended: its container's exit code (null when ECS gives none) and ECS's reasons. */
export interface EcsTaskEnd {
  readonly exitCode: number | null;
  /** The task's `stoppedReason` and the container's `reason`, as ECS gives them. */
  readonly reason: string;
}

/**
 * How the task ended once ECS says it has stopped (the exit code of `container`, else of the first
 * container that has one, once that container has stopped); undefined while it runs, or when the
 * question is unanswered ("not yet").
 */
export async function ecsTaskEnd(client: ECSClient, cluster: string, taskArn: string, container: string): Promise<EcsTaskEnd | undefined> {
  let task: Task | undefined;
  try {
    const answer = await client.send(new DescribeTasksCommand({ cluster, tasks: [taskArn] }));
    task = answer.tasks?.[0];
  } catch {
    return undefined;
  }
  if (task?.lastStatus !== "STOPPED") return undefined;
  const containers = task.containers ?? [];
  const main = containers.find((each) => each.name === container) ?? containers.find((each) => each.exitCode !== undefined);
  const reason = [task.stoppedReason, main?.reason].filter((each): each is string => each !== undefined && each !== "").join("; ");
  // A container that never ran to its end (stopped before it started, its image not pulled) has no
  // exit code worth the name, whatever the answer carries.
  const exited = main?.lastStatus === "STOPPED" && main.exitCode !== undefined;
  return { exitCode: exited ? (main.exitCode ?? null) : null, reason };
}

/** The family of a task definition as written (`resize:3`, `resize`, or its ARN): `resize`. */
export function taskFamily(taskDefinition: string): string {
  return (taskDefinition.split("/").pop() ?? taskDefinition).split(":")[0] ?? taskDefinition;
}

/** A running task of a family, and the value of one variable in its containers' overrides. */
export interface RunningTask {
  readonly taskArn: string;
  readonly value: string;
}

/**
 * The running tasks of `family` on `cluster` whose container overrides set `variable` (ListTasks,
 * then DescribeTasks 100 at a time), with its value; tasks without it are not Switchyard's.
 */
export async function runningTasksWith(client: ECSClient, cluster: string, family: string, variable: string): Promise<RunningTask[]> {
  const arns: string[] = [];
  let nextToken: string | undefined;
  do {
    const page = await client.send(new ListTasksCommand({ cluster, family, desiredStatus: "RUNNING", nextToken }));
    arns.push(...(page.taskArns ?? []));
    nextToken = page.nextToken;
  } while (nextToken !== undefined);
  const found: RunningTask[] = [];
  for (let start = 0; start < arns.length; start += 100) {
    const { tasks = [] } = await client.send(new DescribeTasksCommand({ cluster, tasks: arns.slice(start, start + 100) }));
    for (const task of tasks) {
      const pair = (task.overrides?.containerOverrides ?? []).flatMap((each) => each.environment ?? []).find((each) => each.name === variable);
      if (task.taskArn !== undefined && task.lastStatus !== "STOPPED" && pair?.value !== undefined) found.push({ taskArn: task.taskArn, value: pair.value });
    }
  }
  return found;
}
