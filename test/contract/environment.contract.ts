/** Contract of the `environment` role: environments stored under generated or given keys. */
import { randomUUID } from "node:crypto";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { EnvironmentPort } from "../../src/ports.js";
import { TestClock } from "../support/clock.js";
import type { PortFactory, PortFixture } from "./port-factory.js";

export function environmentContract(name: string, factory: PortFactory<EnvironmentPort>): void {
  describe(`${name}: environment contract`, () => {
    let fixture: PortFixture<EnvironmentPort>;

    beforeEach(async () => {
      fixture = await factory(new TestClock());
    });
    afterEach(() => fixture.cleanup());

    it("stores environments under distinct generated keys", async () => {
      const first = { TASK: "resize", SIZE: "10" };
      const second = { TASK: "crop" };
      const [a, b] = [await fixture.port.put(first), await fixture.port.put(second)];
      expect(a).not.toBe(b);
      expect(await fixture.port.get(a)).toEqual(first);
      expect(await fixture.port.get(b)).toEqual(second);
    });

    it("stores under a given key, replacing what is there", async () => {
      const key = `task-${randomUUID()}`;
      expect(await fixture.port.put({ TASK: "resize", STARTED: "" }, key)).toBe(key);
      expect(await fixture.port.put({ TASK: "resize", STARTED: "task-1" }, key)).toBe(key);
      expect(await fixture.port.get(key)).toEqual({ TASK: "resize", STARTED: "task-1" });
    });

    it("has nothing under an unknown key", async () => {
      expect(await fixture.port.get(randomUUID())).toBeUndefined();
    });
  });
}
