/**
 * The CloudWatch metrics backends. There is no CloudWatch emulator here: PutMetricData is tested
 * against a recording HTTP endpoint (what the SDK sends, decoded), and EMF by the exact line shape.
 */
import { randomUUID } from "node:crypto";
import { createServer, type IncomingHttpHeaders, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { gunzipSync } from "node:zlib";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CloudWatchMetrics, EmfMetrics, openCloudWatchBackend, parseCloudWatchUri } from "../../src/backends/aws/cloudwatch.js";
import type { BackendContext } from "../../src/backends/backend.js";
import { silentLogger } from "../../src/logger.js";
import type { MetricDimensions, MetricsPort } from "../../src/ports.js";
import { TestClock } from "../support/clock.js";
import { metricsContract } from "./metrics.contract.js";

process.env.AWS_ACCESS_KEY_ID ??= "test";
process.env.AWS_SECRET_ACCESS_KEY ??= "test";

interface Recorded {
  readonly url: string;
  readonly headers: IncomingHttpHeaders;
  readonly body: string;
}

const recorded: Recorded[] = [];
let server: Server;
let endpoint: string;
/** Answer every request as CloudWatch answers a successful PutMetricData (awsJson1_0). */
beforeAll(async () => {
  server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on("data", (chunk: Buffer) => chunks.push(chunk));
    request.on("end", () => {
      const raw = Buffer.concat(chunks);
      const body = request.headers["content-encoding"] === "gzip" ? gunzipSync(raw).toString() : raw.toString();
      recorded.push({ url: request.url ?? "", headers: request.headers, body });
      response.writeHead(200, { "content-type": "application/x-amz-json-1.0", "x-amzn-requestid": "test" });
      response.end("{}");
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

const context = (clock = new TestClock(), endpoints: Record<string, string> = { monitoring: endpoint }): BackendContext => ({
  clock,
  baseDir: process.cwd(),
  endpoints,
  logger: silentLogger,
});
const dimensions = { machine_name: "tracer", current_state: "state1", current_event: "event1" };

interface Datum {
  readonly MetricName: string;
  readonly Value: number;
  readonly Dimensions: Array<{ Name: string; Value: string }>;
}

/** Each PutMetricData request the endpoint recorded for `namespace`, decoded into the emission it carries; newest first. */
function sentTo(namespace: string) {
  return recorded
    .map((request) => JSON.parse(request.body) as { Namespace: string; MetricData: Datum[] })
    .filter((body) => body.Namespace === namespace)
    .map(({ MetricData }) => ({
      counters: Object.fromEntries(MetricData.map((datum) => [datum.MetricName, datum.Value])),
      dimensions: Object.fromEntries((MetricData[0]?.Dimensions ?? []).map((d) => [d.Name, d.Value])) as unknown as MetricDimensions,
    }))
    .reverse();
}

metricsContract(
  "cloudwatch (against a recording HTTP endpoint)",
  async (clock) => {
    const namespace = `Switchyard/Contract-${randomUUID()}`;
    const backend = await openCloudWatchBackend(`cloudwatch:${namespace}?region=us-east-1`, context(clock));
    return { port: backend.metrics!(), cleanup: () => backend.close(), emissions: async () => sentTo(namespace) };
  },
  { keepsEmptyEmissions: false },
);
metricsContract(
  "cloudwatch-emf",
  async (clock) => {
    const lines: string[] = [];
    /** Each EMF line, parsed back into the emission it carries; newest first. */
    const emissions = async () =>
      lines
        .map((line) => JSON.parse(line) as Record<string, unknown> & { _aws: { CloudWatchMetrics: Array<{ Metrics: Array<{ Name: string }> }> } })
        .map((document) => ({
          counters: Object.fromEntries(document._aws.CloudWatchMetrics[0]!.Metrics.map((metric) => [metric.Name, document[metric.Name]])),
          dimensions: { machine_name: document.machine_name, current_state: document.current_state, current_event: document.current_event } as MetricDimensions,
        }))
        .reverse();
    return { port: new EmfMetrics("cloudwatch-emf:Switchyard/Contract", clock, (line) => lines.push(line)), cleanup: async () => {}, emissions };
  },
  { keepsEmptyEmissions: false },
);

describe("cloudwatch PutMetricData against a recording HTTP endpoint", () => {
  it("sends one datum per non-zero counter, Unit Count, with the three dimensions", async () => {
    const clock = new TestClock();
    const backend = await openCloudWatchBackend("cloudwatch:Switchyard/Test?region=eu-west-1", context(clock));
    const metrics = backend.metrics!() as MetricsPort;
    expect(metrics).toBeInstanceOf(CloudWatchMetrics);
    recorded.length = 0;
    await metrics.emit({ error: 1, retry: 2, fatal: 0 }, dimensions);
    await backend.close();
    expect(recorded).toHaveLength(1);
    const [request] = recorded;
    // This SDK version speaks AWS JSON 1.0 to CloudWatch (query-compatible), signed for eu-west-1.
    expect(request!.headers["x-amz-target"]).toBe("GraniteServiceVersion20100801.PutMetricData");
    expect(request!.headers["content-type"]).toBe("application/x-amz-json-1.0");
    expect(request!.headers.authorization).toMatch(/Credential=test\/\d{8}\/eu-west-1\/monitoring\/aws4_request/);
    const dims = [
      { Name: "machine_name", Value: "tracer" },
      { Name: "current_state", Value: "state1" },
      { Name: "current_event", Value: "event1" },
    ];
    const timestamp = clock.now() / 1000;
    expect(JSON.parse(request!.body)).toEqual({
      Namespace: "Switchyard/Test",
      MetricData: [
        { MetricName: "error", Value: 1, Unit: "Count", Timestamp: timestamp, Dimensions: dims },
        { MetricName: "retry", Value: 2, Unit: "Count", Timestamp: timestamp, Dimensions: dims },
      ],
    });
  });

  it("uses the dimensions the URI lists, and the cloudwatch endpoint key", async () => {
    const backend = await openCloudWatchBackend(
      "cloudwatch:Sy?region=us-east-1&dimensions=machine_name",
      context(new TestClock(), { cloudwatch: endpoint }),
    );
    recorded.length = 0;
    await backend.metrics!().emit({ duplicate: 3 }, dimensions);
    await backend.close();
    const body = JSON.parse(recorded[0]!.body) as { MetricData: Array<{ MetricName: string; Dimensions: unknown }> };
    expect(body.MetricData).toEqual([
      expect.objectContaining({ MetricName: "duplicate", Value: 3, Dimensions: [{ Name: "machine_name", Value: "tracer" }] }),
    ]);
  });

  it("makes no call for an emission without counters", async () => {
    const backend = await openCloudWatchBackend("cloudwatch:Sy", context());
    recorded.length = 0;
    await backend.metrics!().emit({ error: 0 }, dimensions);
    await backend.close();
    expect(recorded).toEqual([]);
  });

  it("fails fast, in one line, when the endpoint is down", async () => {
    const backend = await openCloudWatchBackend("cloudwatch:Sy", context(new TestClock(), { monitoring: "http://127.0.0.1:9" }));
    const error = (await backend.metrics!().emit({ error: 1 }, dimensions).catch((e: Error) => e)) as Error;
    await backend.close();
    expect(error.name).toBe("SystemError");
    expect(error.message).toMatch(/^CloudWatch PutMetricData to namespace Sy failed: \S/);
    expect(error.message).not.toContain("\n");
  });
});

describe("cloudwatch-emf", () => {
  it("writes one Embedded Metric Format line per emission", async () => {
    const clock = new TestClock();
    const lines: string[] = [];
    const metrics = new EmfMetrics("cloudwatch-emf:Switchyard/Emf", clock, (line) => lines.push(line));
    await metrics.emit({ error: 1, cache: 2 }, dimensions);
    await metrics.emit({}, dimensions);
    expect(lines).toHaveLength(1);
    expect(lines[0]!.endsWith("\n")).toBe(true);
    expect(JSON.parse(lines[0]!)).toEqual({
      _aws: {
        Timestamp: clock.now(),
        CloudWatchMetrics: [
          {
            Namespace: "Switchyard/Emf",
            Dimensions: [["machine_name", "current_state", "current_event"]],
            Metrics: [
              { Name: "error", Unit: "Count" },
              { Name: "cache", Unit: "Count" },
            ],
          },
        ],
      },
      machine_name: "tracer",
      current_state: "state1",
      current_event: "event1",
      error: 1,
      cache: 2,
    });
  });

  it("writes to stdout when opened from its URI", async () => {
    const backend = await openCloudWatchBackend("cloudwatch-emf:Sy?dimensions=machine_name,current_state", context());
    const written: string[] = [];
    const original = process.stdout.write.bind(process.stdout);
    process.stdout.write = ((chunk: string) => {
      written.push(chunk);
      return true;
    }) as typeof process.stdout.write;
    try {
      await backend.metrics!().emit({ fatal: 1 }, dimensions);
    } finally {
      process.stdout.write = original;
    }
    const document = JSON.parse(written[0]!) as { _aws: { CloudWatchMetrics: Array<{ Dimensions: string[][] }> } };
    expect(document._aws.CloudWatchMetrics[0]!.Dimensions).toEqual([["machine_name", "current_state"]]);
    expect(document).toMatchObject({ machine_name: "tracer", current_state: "state1", fatal: 1 });
    expect(document).not.toHaveProperty("current_event");
  });

  it("rejects bad URIs in one line", () => {
    expect(() => parseCloudWatchUri("cloudwatch:")).toThrow(/needs a namespace/);
    expect(() => parseCloudWatchUri("cloudwatch:Sy?dimensions=colour")).toThrow(/unknown dimension "colour"; choose from machine_name/);
    expect(() => parseCloudWatchUri("cloudwatch:Sy?regoin=x")).toThrow(/unknown parameter "regoin"/);
    expect(parseCloudWatchUri("cloudwatch-emf:A/B?dimensions=")).toMatchObject({ mode: "emf", namespace: "A/B", dimensions: [] });
  });
});
