/** Contract of the `metrics` role: one emission per call, counters and dimensions kept. */
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { ErrorCounters, MetricDimensions, MetricsPort } from "../../src/ports.js";
import { TestClock } from "../support/clock.js";
import type { PortFactory, PortFixture } from "./port-factory.js";

/**
 * What a backend did with the emissions, newest first: the rows a store keeps (SQLite,
 * PostgreSQL), or what it sent (CloudWatch's PutMetricData requests, decoded; EMF's lines, parsed).
 */
export interface MetricsInspection {
  emissions(): Promise<Array<{ counters: ErrorCounters; dimensions: MetricDimensions }>>;
}

/**
 * `traits.keepsEmptyEmissions`: a store keeps an emission without counters (the processing's
 * dimensions); CloudWatch and EMF send nothing for it (a datum needs a value).
 */
export function metricsContract(
  name: string,
  factory: PortFactory<MetricsPort, MetricsInspection>,
  traits: { readonly keepsEmptyEmissions: boolean },
): void {
  describe(`${name}: metrics contract`, () => {
    let fixture: PortFixture<MetricsPort, MetricsInspection>;
    const dimensions = { machine_name: "tracer", current_state: "state1", current_event: "event1" };

    beforeEach(async () => {
      fixture = await factory(new TestClock());
    });
    afterEach(() => fixture.cleanup());

    it(
      traits.keepsEmptyEmissions
        ? "keeps every emission, with its counters and dimensions, one without counters too"
        : "sends every emission with counters, with their dimensions, and nothing for one without",
      async () => {
        await fixture.port.emit({ error: 1, retry: 2 }, dimensions);
        await fixture.port.emit({}, { ...dimensions, current_event: "done" });
        await fixture.port.emit({ fatal: 1 }, { ...dimensions, current_state: "state2" });
        expect(await fixture.emissions()).toEqual([
          { counters: { fatal: 1 }, dimensions: { ...dimensions, current_state: "state2" } },
          ...(traits.keepsEmptyEmissions ? [{ counters: {}, dimensions: { ...dimensions, current_event: "done" } }] : []),
          { counters: { error: 1, retry: 2 }, dimensions },
        ]);
      },
    );
  });
}
