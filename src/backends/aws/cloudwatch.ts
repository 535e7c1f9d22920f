/**
 * The `metrics` role on CloudWatch, two ways:
 *
 * - `cloudwatch:NAMESPACE?region=us-east-1&dimensions=machine_name,current_state,current_event`
 *   calls PutMetricData once per emission, one datum (Unit Count) per non-zero counter, with the
 *   dimensions the query parameter lists (default: all three). The endpoint comes from the
 *   settings' `endpoints.monitoring` or `endpoints.cloudwatch` (emulators, VPC endpoints).
 * - `cloudwatch-emf:NAMESPACE?dimensions=…` writes one Embedded Metric Format JSON line per
 *   emission to stdout: no API call; on Lambda, CloudWatch Logs turns the line into metrics.
 *
 * An emission whose counters are all zero sends and writes nothing. Times come from the injected
 * clock.
 */
import { CloudWatchClient, type MetricDatum, PutMetricDataCommand } from "@aws-sdk/client-cloudwatch";
import { SystemError } from "../../errors.js";
import { type Clock, ERROR_COUNTERS, type ErrorCounters, type MetricDimensions, type MetricsPort } from "../../ports.js";
import type { Backend, BackendContext } from "../backend.js";
import { type CloudWatchUri, parseCloudWatchUri } from "./cloudwatch-uri.js";
import { errorReason, observeCalls, requestHandler } from "./http.js";

export { type CloudWatchUri, DIMENSION_NAMES, type DimensionName, parseCloudWatchUri } from "./cloudwatch-uri.js";

/** The non-zero counters of an emission, in the order of SPEC §3 step 8. */
function nonZero(counters: ErrorCounters): Array<[string, number]> {
  return ERROR_COUNTERS.flatMap((name) => {
    const value = counters[name] ?? 0;
    return value === 0 ? [] : [[name, value] as [string, number]];
  });
}

/** A dimension value CloudWatch accepts (1–1024 characters). */
function dimensionValue(value: string): string {
  return value === "" ? "-" : value.slice(0, 1024);
}

/** Metrics through PutMetricData. */
export class CloudWatchMetrics implements MetricsPort {
  readonly uri: string;
  readonly #client: CloudWatchClient;
  readonly #config: CloudWatchUri;
  readonly #clock: Clock;

  constructor(uri: string, client: CloudWatchClient, clock: Clock) {
    this.uri = uri;
    this.#config = parseCloudWatchUri(uri);
    this.#client = client;
    this.#clock = clock;
  }

  async emit(counters: ErrorCounters, dimensions: MetricDimensions): Promise<void> {
    const timestamp = new Date(this.#clock.now());
    const Dimensions = this.#config.dimensions.map((name) => ({ Name: name, Value: dimensionValue(dimensions[name]) }));
    const MetricData: MetricDatum[] = nonZero(counters).map(([MetricName, Value]) => ({
      MetricName,
      Value,
      Unit: "Count",
      Timestamp: timestamp,
      Dimensions,
    }));
    if (MetricData.length === 0) return;
    try {
      await this.#client.send(new PutMetricDataCommand({ Namespace: this.#config.namespace, MetricData }));
    } catch (error) {
      throw new SystemError(`CloudWatch PutMetricData to namespace ${this.#config.namespace} failed: ${errorReason(error)}`, { cause: error });
    }
  }

  /** Close the client's connections. */
  close(): void {
    this.#client.destroy();
  }
}

/** Metrics as Embedded Metric Format lines (stdout by default). */
export class EmfMetrics implements MetricsPort {
  readonly uri: string;
  readonly #config: CloudWatchUri;
  readonly #clock: Clock;
  readonly #write: (line: string) => void;

  /** `write` receives each line with its newline (default: `process.stdout.write`). */
  constructor(uri: string, clock: Clock, write: (line: string) => void = (line) => process.stdout.write(line)) {
    this.uri = uri;
    this.#config = parseCloudWatchUri(uri);
    this.#clock = clock;
    this.#write = write;
  }

  /** The EMF document of one emission, or undefined when every counter is zero. */
  document(counters: ErrorCounters, dimensions: MetricDimensions): Record<string, unknown> | undefined {
    const values = nonZero(counters);
    if (values.length === 0) return undefined;
    const names = this.#config.dimensions;
    return {
      _aws: {
        Timestamp: this.#clock.now(),
        CloudWatchMetrics: [
          {
            Namespace: this.#config.namespace,
            Dimensions: [[...names]],
            Metrics: values.map(([Name]) => ({ Name, Unit: "Count" })),
          },
        ],
      },
      ...Object.fromEntries(names.map((name) => [name, dimensionValue(dimensions[name])])),
      ...Object.fromEntries(values),
    };
  }

  async emit(counters: ErrorCounters, dimensions: MetricDimensions): Promise<void> {
    const document = this.document(counters, dimensions);
    if (document !== undefined) this.#write(`${JSON.stringify(document)}\n`);
  }
}

/** A CloudWatch client for `config`, with bounded retries and timeouts. */
function createClient(config: CloudWatchUri, context: Pick<BackendContext, "endpoints" | "apiCalls">): CloudWatchClient {
  const endpoint = context.endpoints.monitoring ?? context.endpoints.cloudwatch;
  const client = new CloudWatchClient({
    region: config.region,
    ...(endpoint === undefined ? {} : { endpoint }),
    maxAttempts: 2,
    requestHandler: requestHandler(),
  });
  return observeCalls(client, "CloudWatch", context.apiCalls);
}

/**
 * Open a `cloudwatch:` or `cloudwatch-emf:` URI as a backend serving the metrics role.
 *
 * @example
 * ```ts
 * const backend = await openCloudWatchBackend("cloudwatch:Switchyard?region=eu-west-1", context);
 * await backend.metrics?.().emit({ retry: 1 }, { machine_name: "m", current_state: "s", current_event: "e" });
 * ```
 */
export async function openCloudWatchBackend(uri: string, context: BackendContext): Promise<Backend> {
  const config = parseCloudWatchUri(uri);
  if (config.mode === "emf") {
    const metrics = new EmfMetrics(uri, context.clock);
    return { uri, metrics: () => metrics, close: async () => {} };
  }
  const metrics = new CloudWatchMetrics(uri, createClient(config, context), context.clock);
  return { uri, metrics: () => metrics, close: async () => metrics.close() };
}
