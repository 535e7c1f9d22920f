/**
 * Backends by URI: which module serves a scheme, loaded lazily so an embedded user never loads a
 * driver or SDK they do not use. The drivers are optional peer dependencies of the package: a
 * setting that names a backend whose driver is not installed fails with one line naming both.
 */
import type { Backend, BackendContext } from "../backends/backend.js";
import { MissingPackageError, missingPackage, SettingsError } from "../errors.js";

interface BackendModule {
  readonly scheme: string;
  readonly example: string;
  matches(uri: string): boolean;
  open(uri: string, context: BackendContext): Promise<Backend>;
}

const MODULES: readonly BackendModule[] = [
  {
    scheme: "sqlite",
    example: "sqlite:./state.db",
    matches: (uri) => uri.startsWith("sqlite:"),
    open: async (uri, context) => (await import("../backends/sqlite/backend.js")).openSqliteBackend(uri, context),
  },
  {
    scheme: "postgres",
    example: "postgres://user@host:5432/db?schema=switchyard",
    matches: (uri) => uri.startsWith("postgres://") || uri.startsWith("postgresql://"),
    open: async (uri, context) => (await import("../backends/postgres/backend.js")).openPostgresBackend(uri, context),
  },
  {
    scheme: "redis",
    example: "redis://host:6379/0?prefix=switchyard",
    matches: (uri) => uri.startsWith("redis://") || uri.startsWith("rediss://"),
    open: async (uri, context) => (await import("../backends/redis/backend.js")).openRedisBackend(uri, context),
  },
  {
    scheme: "memcached",
    example: "memcached://host:11211?prefix=switchyard",
    matches: (uri) => uri.startsWith("memcached://"),
    open: async (uri, context) => (await import("../backends/memcached/backend.js")).openMemcachedBackend(uri, context),
  },
  {
    scheme: "arn:aws:elasticache",
    example: "arn:aws:elasticache:REGION:ACCOUNT:replicationgroup:NAME (with its redis:// or memcached:// URL under endpoints)",
    matches: (uri) => /^arn:aws[a-z-]*:elasticache:/.test(uri),
    open: (uri, context) => openElastiCache(uri, context),
  },
  {
    scheme: "arn:aws:sqs",
    example: "arn:aws:sqs:REGION:ACCOUNT:QUEUE",
    matches: (uri) => /^arn:aws[a-z-]*:sqs:/.test(uri),
    open: async (uri, context) => (await import("../backends/aws/sqs.js")).openSqsBackend(uri, context),
  },
  {
    scheme: "arn:aws:sns",
    example: "arn:aws:sns:REGION:ACCOUNT:TOPIC",
    matches: (uri) => /^arn:aws[a-z-]*:sns:/.test(uri),
    open: async (uri, context) => (await import("../backends/aws/sns.js")).openSnsBackend(uri, context),
  },
  {
    scheme: "arn:aws:kinesis",
    example: "arn:aws:kinesis:REGION:ACCOUNT:stream/NAME",
    matches: (uri) => /^arn:aws[a-z-]*:kinesis:/.test(uri),
    open: async (uri, context) => (await import("../backends/aws/kinesis.js")).openKinesisBackend(uri, context),
  },
  {
    scheme: "arn:aws:dynamodb",
    example: "arn:aws:dynamodb:REGION:ACCOUNT:table/NAME",
    matches: (uri) => /^arn:aws[a-z-]*:dynamodb:/.test(uri),
    open: async (uri, context) => (await import("../backends/aws/dynamodb/backend.js")).openDynamoDbBackend(uri, context),
  },
  {
    scheme: "cloudwatch",
    example: "cloudwatch:NAMESPACE?region=us-east-1 (PutMetricData) or cloudwatch-emf:NAMESPACE (log lines)",
    matches: (uri) => uri.startsWith("cloudwatch:") || uri.startsWith("cloudwatch-emf:"),
    open: async (uri, context) => (await import("../backends/aws/cloudwatch.js")).openCloudWatchBackend(uri, context),
  },
  {
    scheme: "log",
    example: "log: (metrics only, one JSON line per emission on stderr)",
    matches: (uri) => uri === "log:" || uri.startsWith("log:"),
    open: async (uri, context) => (await import("../backends/log/metrics.js")).openLogMetrics(uri, context),
  },
];

/**
 * ElastiCache is Redis or Memcached on AWS: its ARN names the cluster, and the endpoints setting
 * gives the URL to reach it (`endpoints: {"arn:aws:elasticache:…": "redis://host:6379"}`).
 */
async function openElastiCache(arn: string, context: BackendContext): Promise<Backend> {
  const url = context.endpoints[arn];
  if (url === undefined || !/^(rediss?|memcached):\/\//.test(url)) {
    throw new SettingsError(
      `ElastiCache ${arn} needs its endpoint: add endpoints: {"${arn}": "redis://HOST:6379"} (or memcached://HOST:11211) to the settings`,
    );
  }
  return openBackend(url, context);
}

/**
 * Open the backend a URI names; unknown schemes get one line listing the supported ones. `usedBy`
 * names the settings keys that need it (`stream.primary, cache.primary`), for the missing-driver line.
 */
export async function openBackend(uri: string, context: BackendContext, usedBy?: readonly string[]): Promise<Backend> {
  const module = MODULES.find((candidate) => candidate.matches(uri));
  if (module === undefined) {
    throw new SettingsError(
      `unsupported backend URI "${uri}"; supported here: ${MODULES.map((m) => m.example).join(", ")}`,
    );
  }
  try {
    return await module.open(uri, context);
  } catch (error) {
    const missing = missingPackage(error);
    if (missing === undefined) throw error;
    const setting = usedBy === undefined || usedBy.length === 0 ? "" : `${usedBy.join(", ")} `;
    throw new MissingPackageError(
      missing,
      `${setting}${module.scheme} backend needs the package ${missing}, which is not installed; run: npm install ${missing}`,
      { cause: error },
    );
  }
}

/**
 * The ECS module of `ecs:` task steps (backends/aws/ecs-task.ts), loaded when a worker first starts
 * one: its SDK client is an optional peer, and a missing one fails the step in one line.
 */
export async function loadEcsTasks(): Promise<typeof import("../backends/aws/ecs-task.js")> {
  try {
    return await import("../backends/aws/ecs-task.js");
  } catch (error) {
    const missing = missingPackage(error);
    if (missing === undefined) throw error;
    throw new MissingPackageError(missing, `ecs: tasks need the package ${missing}, which is not installed; run: npm install ${missing}`, { cause: error });
  }
}
