/**
 * The `cloudwatch:` and `cloudwatch-emf:` metrics URIs (cloudwatch.ts), parsed without loading the
 * AWS SDK: the CloudFormation template reads the namespace and dimensions of its alarms from here.
 */
import { SettingsError } from "../../errors.js";

/** The dimension names an emission has. */
export const DIMENSION_NAMES = ["machine_name", "current_state", "current_event"] as const;
export type DimensionName = (typeof DIMENSION_NAMES)[number];

/** A parsed `cloudwatch:` or `cloudwatch-emf:` URI. */
export interface CloudWatchUri {
  readonly mode: "api" | "emf";
  readonly namespace: string;
  readonly region: string;
  readonly dimensions: readonly DimensionName[];
}

const EXAMPLE = "cloudwatch:NAMESPACE?region=us-east-1&dimensions=machine_name,current_state,current_event (or cloudwatch-emf:NAMESPACE)";

/** Parse a CloudWatch metrics URI; one-line errors for a missing namespace or unknown parameters. */
export function parseCloudWatchUri(uri: string): CloudWatchUri {
  const match = /^(cloudwatch|cloudwatch-emf):([^?]*)(?:\?(.*))?$/.exec(uri);
  if (match === null) throw new SettingsError(`"${uri}" is not a CloudWatch metrics URI; write ${EXAMPLE}`);
  const [, scheme, rawNamespace = "", query = ""] = match;
  const namespace = decodeURIComponent(rawNamespace);
  if (namespace === "" || namespace.length > 255 || namespace.startsWith("AWS/")) {
    throw new SettingsError(`"${uri}" needs a namespace of 1-255 characters not starting with AWS/; write ${EXAMPLE}`);
  }
  const params = new URLSearchParams(query);
  for (const key of params.keys()) {
    if (key !== "region" && key !== "dimensions") {
      throw new SettingsError(`"${uri}" has unknown parameter "${key}"; CloudWatch URIs take region and dimensions`);
    }
  }
  const listed = params.get("dimensions");
  const dimensions = listed === null ? [...DIMENSION_NAMES] : listed.split(",").map((name) => name.trim()).filter((name) => name !== "");
  for (const name of dimensions) {
    if (!(DIMENSION_NAMES as readonly string[]).includes(name)) {
      throw new SettingsError(`"${uri}" lists unknown dimension "${name}"; choose from ${DIMENSION_NAMES.join(", ")}`);
    }
  }
  return {
    mode: scheme === "cloudwatch-emf" ? "emf" : "api",
    namespace,
    region: params.get("region") ?? process.env.AWS_REGION ?? process.env.AWS_DEFAULT_REGION ?? "us-east-1",
    dimensions: dimensions as DimensionName[],
  };
}
