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

  it.each([
    ["{oops", /not valid JSON/],
    ["[]", /not a JSON object/],
    [JSON.stringify({ ...valid, version: "9" }), /unsupported version "9"/],
    [JSON.stringify({ ...valid, system_context: undefined }), /no system_context/],
    [JSON.stringify({ ...valid, system_context: { ...valid.system_context, machine_name: "" } }), /machine_name is missing/],
    [JSON.stringify({ ...valid, system_context: { ...valid.system_context, steps: -1 } }), /steps is missing or not a non-negative integer/],
    [JSON.stringify({ ...valid, user_context: [1] }), /user_context is not a JSON object/],
  ])("rejects %s", (body, message) => {
    expect(() => decodeMessage(body)).toThrow(MalformedMessageError);
    expect(() => decodeMessage(body)).toThrow(message);
  });

  it("refuses a context JSON cannot carry (the engine retries such an attempt)", () => {
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    expect(() => encodeMessage({ ...decodeMessage(JSON.stringify(valid)), user_context: cyclic })).toThrow(TypeError);
  });
});
