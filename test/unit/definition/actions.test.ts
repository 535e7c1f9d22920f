import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { ActionResolver } from "../../../src/definition/actions.js";
import { ActionRegistry, parseActionReference } from "../../../src/definition/index.js";

const fixtures = fileURLToPath(new URL("../../fixtures/definitions/", import.meta.url));

describe("parseActionReference", () => {
  it("splits module#export and the dotted form; a plain name is no module reference", () => {
    expect(parseActionReference("./lib/actions.ts#Log")).toEqual({ module: "./lib/actions.ts", exportName: "Log" });
    expect(parseActionReference("lib.steps.Double")).toEqual({ module: "lib/steps", exportName: "Double" });
    expect(parseActionReference("Double")).toBeUndefined();
    expect(parseActionReference("./steps.Double")).toBeUndefined();
  });
});

describe("ActionResolver", () => {
  it("suggests the closest export for a misspelt one", async () => {
    const { problem } = await new ActionResolver().resolve("./actions.ts#Lgo", fixtures);
    expect(problem).toBe('action "./actions.ts#Lgo": module has no export "Lgo"; did you mean "Log"?');
  });

  it("prefers a registered action to a module of the same reference", async () => {
    const registered = () => "registered";
    const resolver = new ActionResolver(new ActionRegistry().register("lib.steps.Double", registered));
    const { action } = await resolver.resolve("lib.steps.Double", fixtures);
    expect(action?.name).toBe("lib.steps.Double");
    expect(action?.execute).toBe(registered);
  });

  it("resolves one reference to one action", async () => {
    const resolver = new ActionResolver();
    const first = await resolver.resolve("./actions.ts#Increment", fixtures);
    const second = await resolver.resolve("./actions.ts#Increment", fixtures);
    expect(first.action).toBeDefined();
    expect(second.action).toBe(first.action);
  });
});
