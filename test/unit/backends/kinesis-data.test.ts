/** What a Kinesis record's data holds, both ways, byte for byte. */
import { describe, expect, it } from "vitest";
import { decodeRecordData, encodeRecordData } from "../../../src/backends/aws/kinesis-data.js";

const text = (data: Uint8Array) => Buffer.from(data).toString("utf8");
const outgoing = (body: string, steps = 1, retries = 0) => ({ correlationId: "c1", steps, retries, body, delaySeconds: 0 });

describe("Kinesis record data", () => {
  it("appends the metadata after the message's own bytes, and takes exactly those bytes back", () => {
    const body = '{"version":"0.1","system_context":{"correlation_id":"c1","steps":1,"retries":0},"user_context":{"n":1.50}}';
    const data = encodeRecordData(outgoing(body), 42, { token: "t", at: 7 });
    expect(text(data)).toBe(`${body.slice(0, -1)},"switchyard":{"due":42,"correlation_id":"c1","steps":1,"retries":0,"token":"t","scheduled_at":7}}`);
    expect(decodeRecordData(data)).toEqual({ body, due: 42, correlationId: "c1", steps: 1, retries: 0, token: "t", scheduledAt: 7 });
  });

  it("handles an empty object, and a record a seed process re-serialized (metadata not last)", () => {
    expect(decodeRecordData(encodeRecordData(outgoing("{}"), 5)).body).toBe("{}");
    const rewritten = '{"switchyard": {"due": 9, "correlation_id": "c1", "steps": 1, "retries": 0}, "system_context": {"correlation_id": "c1", "steps": 1, "retries": 0}, "version": "0.1"}';
    expect(decodeRecordData(Buffer.from(rewritten))).toMatchObject({
      body: '{"system_context":{"correlation_id":"c1","steps":1,"retries":0},"version":"0.1"}',
      due: 9,
    });
  });

  it("sends a body that is not a JSON object in the old envelope, and reads data that is not JSON as a body due at once", () => {
    const data = encodeRecordData(outgoing("not json"), 11);
    expect(JSON.parse(text(data))).toMatchObject({ switchyard: 1, body: "not json", due: 11 });
    expect(decodeRecordData(data)).toMatchObject({ body: "not json", due: 11, correlationId: "c1", steps: 1 });
    expect(decodeRecordData(Buffer.from("\u0000raw"))).toEqual({ body: "\u0000raw", due: 0, correlationId: "", steps: -1, retries: 0 });
  });

  it("reads the seed's data as due at once, with the ids of its system context", () => {
    const seed = '{"system_context": {"correlation_id": "s1", "retries": 2, "steps": 4}, "user_context": {}, "version": "0.1"}';
    expect(decodeRecordData(Buffer.from(seed))).toEqual({ body: seed, due: 0, correlationId: "s1", steps: 4, retries: 2 });
  });
});
