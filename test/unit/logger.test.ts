import { afterEach, describe, expect, it, vi } from "vitest";
import type { WireMessage } from "../../src/core/message.js";
import { deliveryLogFields, messageLogFields } from "../../src/engine/log-fields.js";
import { createLogger, silentLogger } from "../../src/logger.js";
import type { Delivery } from "../../src/ports.js";

const MESSAGE: WireMessage = {
  version: "1",
  system_context: {
    machine_name: "order",
    current_state: "paid",
    current_event: "ship",
    correlation_id: "order-7",
    steps: 3,
    retries: 1,
    max_retries: 5,
    started_at: 0,
    lease_primary: true,
    additional_delay_seconds: 0,
    lease_timeout: 30,
    machine_version: "0123456789abcdef",
  },
  user_context: { email: "someone@example.com" },
};

function capture(level: Parameters<typeof createLogger>[0], options: Parameters<typeof createLogger>[1] = {}) {
  const lines: string[] = [];
  return { lines, logger: createLogger(level, { ...options, write: (line) => lines.push(line) }) };
}

describe("createLogger", () => {
  afterEach(() => {
    vi.unstubAllEnvs();
  });

  it("writes one JSON object per line: level, time, msg, then the fields", () => {
    const { lines, logger } = capture("debug", { json: true });
    logger.warn("attempt failed: boom", messageLogFields(MESSAGE, logger));
    logger.debug("second\nline");
    expect(lines).toHaveLength(2);
    const record = JSON.parse(lines[0] as string);
    expect(Object.keys(record).slice(0, 3)).toEqual(["level", "time", "msg"]);
    expect(record).toEqual({
      level: "warn",
      time: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/),
      msg: "attempt failed: boom",
      correlationId: "order-7",
      machine: "order",
      version: "0123456789abcdef",
      state: "paid",
      event: "ship",
      steps: 3,
      retries: 1,
    });
    // A message with a line break stays one line.
    expect(JSON.parse(lines[1] as string)).toMatchObject({ level: "debug", msg: "second\nline" });
  });

  it("writes text lines with the fields as JSON after the message", () => {
    const { lines, logger } = capture("warn", { json: false });
    logger.error("moved to dead letters", { correlationId: "order-7", steps: 3 });
    logger.warn("no fields");
    expect(lines).toEqual(['switchyard error: moved to dead letters {"correlationId":"order-7","steps":3}', "switchyard warn: no fields"]);
  });

  it("drops records below its level and says which levels it writes", () => {
    const { lines, logger } = capture("warn", { json: true });
    logger.debug("d");
    logger.info("i");
    logger.warn("w");
    logger.error("e");
    expect(lines.map((line) => JSON.parse(line).level)).toEqual(["warn", "error"]);
    expect(["debug", "info", "warn", "error", "silent"].map((level) => logger.isLevelEnabled?.(level as "debug"))).toEqual([false, false, true, true, false]);
    expect(silentLogger.isLevelEnabled?.("error")).toBe(false);
  });

  it("reads its level, format and context switch from the environment", () => {
    vi.stubEnv("SWITCHYARD_LOG_LEVEL", "debug");
    vi.stubEnv("SWITCHYARD_LOG_FORMAT", "json");
    vi.stubEnv("SWITCHYARD_LOG_CONTEXT", "1");
    const lines: string[] = [];
    const logger = createLogger(undefined, { write: (line) => lines.push(line) });
    logger.debug("d", messageLogFields(MESSAGE, logger));
    expect(JSON.parse(lines[0] as string)).toMatchObject({ level: "debug", context: { email: "someone@example.com" } });
    expect(logger.logsContext).toBe(true);
  });
});

describe("log fields", () => {
  afterEach(() => {
    vi.unstubAllEnvs();
  });

  it("leave the user context out unless the logger logs it", () => {
    vi.stubEnv("SWITCHYARD_LOG_CONTEXT", "");
    const without = createLogger("debug", { json: true, write: () => {} });
    expect(without.logsContext).toBe(false);
    expect(JSON.stringify(messageLogFields(MESSAGE, without))).not.toContain("someone@example.com");
    expect(messageLogFields(MESSAGE, silentLogger)).not.toHaveProperty("context");
    const withContext = createLogger("debug", { json: true, context: true, write: () => {} });
    expect(messageLogFields(MESSAGE, withContext).context).toEqual({ email: "someone@example.com" });
  });

  it("of a delivery: where it came from, and the message's fields when its body decodes", () => {
    const delivery: Delivery = { id: "m-1", body: JSON.stringify(MESSAGE), receiveCount: 1, role: "retry", side: "secondary", handle: undefined };
    const decode = (body: string) => JSON.parse(body) as WireMessage;
    expect(deliveryLogFields(delivery, decode, silentLogger)).toEqual({
      ...messageLogFields(MESSAGE, silentLogger),
      messageId: "m-1",
      role: "retry",
      side: "secondary",
    });
    const undecodable = { ...delivery, body: "secret text, not JSON" };
    expect(deliveryLogFields(undecodable, decode, silentLogger)).toEqual({ messageId: "m-1", role: "retry", side: "secondary" });
  });
});
