import { describe, expect, it } from "vitest";
import { clientConfig, parseArn, resourceName } from "../../../src/backends/aws/arn.js";
import { silentLogger } from "../../../src/logger.js";
import { systemClock } from "../../../src/ports.js";
import { openBackend } from "../../../src/settings/backends.js";

describe("AWS ARNs", () => {
  it("splits an ARN into its parts; the resource keeps its colons and slashes", () => {
    expect(parseArn("arn:aws:kinesis:eu-west-1:123456789012:stream/orders")).toEqual({
      arn: "arn:aws:kinesis:eu-west-1:123456789012:stream/orders",
      partition: "aws",
      service: "kinesis",
      region: "eu-west-1",
      account: "123456789012",
      resource: "stream/orders",
    });
    expect(parseArn("arn:aws:elasticache:us-east-1:1:replicationgroup:leases").resource).toBe("replicationgroup:leases");
  });

  it("names what is wrong with a malformed ARN", () => {
    expect(() => parseArn("sqs:orders", "sqs")).toThrow(/"sqs:orders" is not an ARN; write arn:aws:sqs:REGION:ACCOUNT:RESOURCE/);
    expect(() => parseArn("arn:aws:sqs::1:q")).toThrow(/has no region/);
    expect(() => parseArn("arn:aws:sns:us-east-1:1:t", "sqs")).toThrow(/is not an sqs ARN \(its service is sns\)/);
    expect(() => resourceName(parseArn("arn:aws:kinesis:us-east-1:1:orders"), "stream")).toThrow(/must name a stream/);
  });

  it("takes the region from the ARN and the endpoint by exact ARN before service name", () => {
    const arn = parseArn("arn:aws:sqs:ap-south-1:1:jobs");
    expect(clientConfig(arn, { endpoints: {} })).toEqual({ region: "ap-south-1", maxAttempts: 2 });
    expect(clientConfig(arn, { endpoints: { sqs: "http://127.0.0.1:4566" } }).endpoint).toBe("http://127.0.0.1:4566");
    expect(clientConfig(arn, { endpoints: { sqs: "http://a", [arn.arn]: "http://b" } }).endpoint).toBe("http://b");
  });

  it("maps an ElastiCache ARN to the Redis or Memcached URL under endpoints, or says how to", async () => {
    const arn = "arn:aws:elasticache:us-east-1:123456789012:replicationgroup:leases";
    const context = { clock: systemClock, baseDir: ".", endpoints: {}, logger: silentLogger };
    await expect(openBackend(arn, context)).rejects.toThrow(
      `ElastiCache ${arn} needs its endpoint: add endpoints: {"${arn}": "redis://HOST:6379"} (or memcached://HOST:11211) to the settings`,
    );
    const backend = await openBackend(arn, { ...context, endpoints: { [arn]: "memcached://127.0.0.1:11211?prefix=arn_test" } });
    try {
      expect(backend.uri).toMatch(/^memcached:\/\//);
      expect(backend.cache?.()).toBeDefined();
    } finally {
      await backend.close();
    }
  });
});
