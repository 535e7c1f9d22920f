/**
 * AWS resources are named by ARN. The region comes from the ARN; the endpoint from the settings'
 * `endpoints` map (an emulator or a VPC endpoint), looked up by the exact ARN first and then by the
 * service name (`sqs`, `kinesis`, `dynamodb`, `sns`, `monitoring`); credentials come from the SDK's
 * default provider chain.
 */
import { SettingsError } from "../../errors.js";
import type { BackendContext } from "../backend.js";

/** The parts of `arn:PARTITION:SERVICE:REGION:ACCOUNT:RESOURCE`. */
export interface Arn {
  readonly arn: string;
  readonly partition: string;
  readonly service: string;
  readonly region: string;
  readonly account: string;
  /** Everything after the account: `queue-name`, `stream/name`, `table/name`. */
  readonly resource: string;
}

/** Parse an ARN; `service` (when given) must match. */
export function parseArn(arn: string, service?: string): Arn {
  const parts = arn.split(":");
  const [prefix, partition, svc, region, account] = parts;
  const resource = parts.slice(5).join(":");
  if (parts.length < 6 || prefix !== "arn" || !partition || !svc || resource === "") {
    throw new SettingsError(`"${arn}" is not an ARN; write arn:aws:${service ?? "SERVICE"}:REGION:ACCOUNT:RESOURCE`);
  }
  if (service !== undefined && svc !== service) {
    throw new SettingsError(`"${arn}" is not an ${service} ARN (its service is ${svc})`);
  }
  if (!region) throw new SettingsError(`ARN "${arn}" has no region; write arn:${partition}:${svc}:REGION:…`);
  return { arn, partition, service: svc, region, account: account ?? "", resource };
}

/** The name after a `type/` prefix (`stream/orders` → `orders`), or the whole resource. */
export function resourceName(arn: Arn, type?: string): string {
  if (type === undefined) return arn.resource;
  const prefix = `${type}/`;
  if (!arn.resource.startsWith(prefix)) {
    throw new SettingsError(`ARN "${arn.arn}" must name a ${type}: arn:${arn.partition}:${arn.service}:REGION:ACCOUNT:${type}/NAME`);
  }
  return arn.resource.slice(prefix.length).split("/")[0] ?? "";
}

/** The endpoint the settings give for an ARN or its service, if any. */
export function endpointFor(arn: Arn, endpoints: Readonly<Record<string, string>>, serviceKey: string = arn.service): string | undefined {
  return endpoints[arn.arn] ?? endpoints[serviceKey];
}

/** SDK client configuration for the service an ARN names: region, endpoint, bounded retries. */
export function clientConfig(arn: Arn, context: Pick<BackendContext, "endpoints">, serviceKey?: string) {
  const endpoint = endpointFor(arn, context.endpoints, serviceKey);
  return {
    region: arn.region,
    ...(endpoint === undefined ? {} : { endpoint }),
    // The protocol fails over to the secondary side on a system error: a few quick SDK retries,
    // not the default's long backoff, so a dead primary costs little time.
    maxAttempts: 2,
  };
}
