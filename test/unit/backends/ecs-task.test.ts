/** The RunTask input of an `ecs:` task: the task as written, with the task's variables in its container's environment. */
import { describe, expect, it } from "vitest";
import { ecsClient, runTaskInput } from "../../../src/backends/aws/ecs-task.js";
import type { EcsTaskDefinition } from "../../../src/core/task.js";

const TASK: EcsTaskDefinition = {
  kind: "ecs",
  cluster: "arn:aws:ecs:eu-west-1:123456789012:cluster/jobs",
  taskDefinition: "resize:3",
  container: "main",
  launchType: "FARGATE",
  networkConfiguration: { awsvpcConfiguration: { subnets: ["subnet-1"], securityGroups: ["sg-1"], assignPublicIp: "DISABLED" } },
  overrides: {
    taskRoleArn: "arn:aws:iam::123456789012:role/resize",
    containerOverrides: [
      { name: "sidecar", environment: [{ name: "X", value: "1" }] },
      { name: "main", command: ["resize"], environment: [{ name: "SIZE", value: "800" }, { name: "SWITCHYARD_TASK_TOKEN", value: "written" }] },
    ],
  },
};

const VARIABLES = { SWITCHYARD_TASK_TOKEN: "key.secret", SWITCHYARD_TASK_ENV_KEY: "key" };

describe("runTaskInput", () => {
  it("passes the task as written and adds the variables to its container's environment, replacing ones of the same name", () => {
    expect(runTaskInput(TASK, VARIABLES, "3f1c")).toEqual({
      cluster: TASK.cluster,
      taskDefinition: "resize:3",
      count: 1,
      startedBy: "3f1c",
      launchType: "FARGATE",
      networkConfiguration: TASK.networkConfiguration,
      overrides: {
        taskRoleArn: "arn:aws:iam::123456789012:role/resize",
        containerOverrides: [
          { name: "sidecar", environment: [{ name: "X", value: "1" }] },
          {
            name: "main",
            command: ["resize"],
            environment: [
              { name: "SIZE", value: "800" },
              { name: "SWITCHYARD_TASK_TOKEN", value: "key.secret" },
              { name: "SWITCHYARD_TASK_ENV_KEY", value: "key" },
            ],
          },
        ],
      },
    });
  });

  it("adds an override for the container when none is written, and cuts startedBy to ECS's 36 characters", () => {
    const input = runTaskInput({ kind: "ecs", cluster: "jobs", taskDefinition: "resize", container: "main" }, VARIABLES, "x".repeat(40));
    expect(input).toEqual({
      cluster: "jobs",
      taskDefinition: "resize",
      count: 1,
      startedBy: "x".repeat(36),
      overrides: { containerOverrides: [{ name: "main", environment: [{ name: "SWITCHYARD_TASK_TOKEN", value: "key.secret" }, { name: "SWITCHYARD_TASK_ENV_KEY", value: "key" }] }] },
    });
    // The written task is left as it was.
    expect(TASK.overrides?.containerOverrides).toHaveLength(2);
  });
});

describe("ecsClient", () => {
  it("takes the region from the cluster's ARN and the endpoint from the cluster's entry, else ecs", async () => {
    const byArn = ecsClient(TASK, { ecs: "http://127.0.0.1:5000", [TASK.cluster]: "http://127.0.0.1:6000" });
    expect(await byArn.config.region()).toBe("eu-west-1");
    expect((await byArn.config.endpoint?.())?.port).toBe(6000);
    byArn.destroy();
    const byService = ecsClient({ cluster: "jobs", taskDefinition: "arn:aws:ecs:ap-south-1:123456789012:task-definition/resize:1" }, { ecs: "http://127.0.0.1:5000" });
    expect(await byService.config.region()).toBe("ap-south-1");
    expect((await byService.config.endpoint?.())?.port).toBe(5000);
    byService.destroy();
  });
});
