/** Contract of the `metrics` role: one emission per call, counters and dimensions kept. */
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { ErrorCounters, MetricDimensions, MetricsPort } from "../../src/ports.js";
import { TestClock } from "../support/clock.js";
import type { PortFactory, PortFixture } from "./port-factory.js";

/** Read access to stored emissions, where the backend has it (newest first). */
export interface MetricsInspection {
  emissions?(): Promise<Array<{ counters: ErrorCounters; dimensions: MetricDimensions }>>;
}

export function metricsContract(name: string, factory: PortFactory<MetricsPort, MetricsInspection>): void {
  describe(`${name}: metrics contract`, () => {
    let fixture: PortFixture<MetricsPort, MetricsInspection>;
    const dimensions = { machine_name: "tracer", current_state: "state1", current_event: "event1" };

    beforeEach(async () => {
      fixture = await factory(new TestClock());
    });
    afterEach(() => fixture.cleanup());

    it("accepts emissions, with or without counters, and keeps them", async () => {
      await fixture.port.emit({ error: 1, retry: 2 }, dimensions);
      await fixture.port.emit({}, { ...dimensions, current_event: "done" });
      if (fixture.emissions) {
        expect(await fixture.emissions()).toEqual([
          { counters: {}, dimensions: { ...dimensions, current_event: "done" } },
          { counters: { error: 1, retry: 2 }, dimensions },
        ]);
      }
    });
  });
}
