import { describe, expect, it } from "vitest";
import { decodeMessage, encodeMessage } from "../../../src/core/message.js";
import { MalformedMessageError } from "../../../src/errors.js";

const valid = {
  version: "0.1",
  system_context: { machine_name: "m", current_state: "s", current_event: "e", correlation_id: "c", steps: 2, retries: 1 },
  user_context: { a: 1 },
};

describe("wire format", () => {
  it("fills the seed's defaults and keeps unknown system keys", () => {
    const decoded = decodeMessage(JSON.stringify({ ...valid, system_context: { ...valid.system_context, extra: "kept" } }));
    expect(decoded.system_context).toEqual({
      ...valid.system_context,
      extra: "kept",
      max_retries: 5,
      started_at: 0,
      lease_primary: true,
      additional_delay_seconds: 0,
      lease_timeout: 300,
    });
    expect(JSON.parse(encodeMessage(decoded))).toEqual(decoded);
  });

  it("takes a missing max_retries and lease_timeout from the reader's defaults for the machine, as the seed does", () => {
    const defaults = (machine: string) => ({ max_retries: machine === "m" ? 2 : 9, lease_timeout: 60 });
    expect(decodeMessage(JSON.stringify(valid), defaults).system_context).toMatchObject({ max_retries: 2, lease_timeout: 60 });
    const carried = { ...valid, system_context: { ...valid.system_context, max_retries: 7, lease_timeout: 30 } };
    expect(decodeMessage(JSON.stringify(carried), defaults).system_context).toMatchObject({ max_retries: 7, lease_timeout: 30 });
  });

  it.each([
    ["{oops", /not valid JSON/],
    ["[]", /not a JSON object/],
    [JSON.stringify({ ...valid, version: "9" }), /unsupported version "9"/],
    [JSON.stringify({ ...valid, system_context: undefined }), /no system_context/],
    [JSON.stringify({ ...valid, system_context: { ...valid.system_context, machine_name: "" } }), /machine_name is missing/],
    [JSON.stringify({ ...valid, system_context: { ...valid.system_context, steps: -1 } }), /steps must be a whole number from 0 to 2147483646 \(the next step must fit a 32-bit column\), got -1/],
    [JSON.stringify({ ...valid, system_context: { ...valid.system_context, steps: undefined } }), /steps is missing; it must be a whole number from 0 to 2147483646/],
    [JSON.stringify({ ...valid, system_context: { ...valid.system_context, steps: 1.5 } }), /steps must be a whole number .*, got 1.5$/],
    // A valid message whose next step no PostgreSQL INTEGER column can hold, and one SQLite would
    // store as a float equal to itself (so it was dropped as its own duplicate, forever running).
    [JSON.stringify({ ...valid, system_context: { ...valid.system_context, steps: 2147483648 } }), /steps must be a whole number from 0 to 2147483646 .*, got 2147483648$/],
    [JSON.stringify({ ...valid, system_context: { ...valid.system_context, steps: 1e300 } }), /steps must be a whole number from 0 to 2147483646 .*, got 1e\+300$/],
    [JSON.stringify({ ...valid, system_context: { ...valid.system_context, retries: 2147483647 } }), /retries must be a whole number from 0 to 2147483646 .*, got 2147483647$/],
    [JSON.stringify({ ...valid, system_context: { ...valid.system_context, max_retries: "5" } }), /max_retries must be a whole number from 0 to 2147483646, got "5"$/],
    [JSON.stringify({ ...valid, system_context: { ...valid.system_context, additional_delay_seconds: 1e12 } }), /additional_delay_seconds must be a number of seconds from 0 to 31536000 \(one year\), got 1000000000000$/],
    [JSON.stringify({ ...valid, system_context: { ...valid.system_context, lease_timeout: 0 } }), /lease_timeout must be a number of seconds from 0.001 to 2147483 \(the longest timer Node.js can set\), got 0$/],
    [JSON.stringify({ ...valid, system_context: { ...valid.system_context, started_at: -1 } }), /started_at must be a number of seconds since the epoch from 0 to 8640000000000, got -1$/],
    [JSON.stringify({ ...valid, user_context: [1] }), /user_context is not a JSON object/],
  ])("rejects %s", (body, message) => {
    expect(() => decodeMessage(body)).toThrow(MalformedMessageError);
    expect(() => decodeMessage(body)).toThrow(message);
  });

  it("accepts the largest counts and delays every backend can store", () => {
    const edge = { ...valid.system_context, steps: 2147483646, retries: 2147483646, additional_delay_seconds: 31536000, lease_timeout: 2147483 };
    expect(decodeMessage(JSON.stringify({ ...valid, system_context: edge })).system_context).toMatchObject(edge);
  });

  it("refuses a context JSON cannot carry (the engine retries such an attempt)", () => {
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    expect(() => encodeMessage({ ...decodeMessage(JSON.stringify(valid)), user_context: cyclic })).toThrow(TypeError);
  });
});
