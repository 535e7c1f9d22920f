/**
 * The `log:` metrics backend: each emission is one JSON line on stderr (or a file with
 * `log:/path/to/file`), easy to ship to any log pipeline. It serves only the metrics role.
 */
import { appendFileSync } from "node:fs";
import path from "node:path";
import type { ErrorCounters, MetricDimensions, MetricsPort } from "../../ports.js";
import type { Backend, BackendContext } from "../backend.js";

/** Metrics as JSON lines. */
export class LogMetrics implements MetricsPort {
  readonly uri: string;
  readonly #file: string | undefined;

  /** `baseDir`: relative file paths resolve against it (the settings file's folder). */
  constructor(uri: string, baseDir = process.cwd()) {
    this.uri = uri;
    const target = uri.slice("log:".length);
    this.#file = target === "" ? undefined : path.resolve(baseDir, target);
  }

  async emit(counters: ErrorCounters, dimensions: MetricDimensions): Promise<void> {
    const line = `${JSON.stringify({ metric: "switchyard.errors", time: new Date().toISOString(), counters, dimensions })}\n`;
    if (this.#file === undefined) process.stderr.write(line);
    else appendFileSync(this.#file, line);
  }
}

/** Open a `log:` URI as a backend serving the metrics role. */
export async function openLogMetrics(uri: string, context: Pick<BackendContext, "baseDir">): Promise<Backend> {
  const metrics = new LogMetrics(uri, context.baseDir);
  return { uri, metrics: () => metrics, close: async () => {} };
}
