import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { ChaosError, SettingsError } from "../../../src/errors.js";
import { withChaos } from "../../../src/settings/chaos.js";
import { DEFAULT_STORE_URI, loadSettings, resolveSettings } from "../../../src/settings/settings.js";

const at = { baseDir: "/srv", file: undefined };

describe("settings", () => {
  it("defaults every role to one SQLite file", () => {
    const settings = resolveSettings({}, at);
    for (const role of ["stream", "retry", "cache", "checkpoint", "metrics", "environment"] as const) {
      expect(settings.roles[role]).toEqual({ primary: DEFAULT_STORE_URI });
    }
    expect(settings.journal).toBe(DEFAULT_STORE_URI);
    expect(settings.leaseTimeoutSeconds).toBe(300);
    expect(settings.visibilityTimeoutSeconds).toBe(30);
  });

  it("reads primary/secondary pairs, plain URIs, chaos and timeouts", () => {
    const settings = resolveSettings(
      { stream: { primary: "sqlite:a.db", secondary: "sqlite:b.db" }, cache: "sqlite:c.db", chaos: { "stream.primary": 0.25 }, lease_timeout: 10, visibility_timeout: 2 },
      at,
    );
    expect(settings.roles.stream).toEqual({ primary: "sqlite:a.db", secondary: "sqlite:b.db" });
    expect(settings.roles.cache).toEqual({ primary: "sqlite:c.db", secondary: undefined });
    expect(settings.chaos.get("stream.primary")).toBe(0.25);
    expect(settings.leaseTimeoutSeconds).toBe(10);
    expect(settings.visibilityTimeoutSeconds).toBe(2);
  });

  it("switches the optional roles off with false, never the required ones", () => {
    const settings = resolveSettings({ checkpoint: false, metrics: false, environment: false }, at);
    expect([settings.roles.checkpoint, settings.roles.metrics, settings.roles.environment]).toEqual([undefined, undefined, undefined]);
    expect(settings.journal).toBe(DEFAULT_STORE_URI);
    expect(() => resolveSettings({ cache: false }, at)).toThrow("settings: the cache role cannot be switched off; give it a backend URI");
  });

  it.each([
    [{ stram: "sqlite:a.db" }, /unknown settings key "stram"/],
    [{ stream: 3 }, /stream must be a backend URI or \{primary, secondary\}/],
    [{ stream: { primary: "sqlite:a.db", backup: "sqlite:b.db" } }, /unknown key "backup" in stream/],
    [{ stream: "a.db" }, /stream "a.db" is not a backend URI; write e.g. sqlite:.\/state.db/],
    [{ cache: { primary: "sqlite:a.db", secondary: "sqlite:a.db" } }, /cache.primary and cache.secondary are the same store/],
    [{ chaos: { "stream.tertiary": 1 } }, /chaos key "stream.tertiary" must be role.side/],
    [{ chaos: { "cache.primary": 1.5 } }, /chaos rate for cache.primary must be a number from 0 to 1, got 1.5/],
    [{ lease_timeout: -1 }, /lease_timeout must be a number of seconds from 0.001 to 2147483/],
    [{ journal: 5 }, /journal must be a backend URI or false/],
  ])("rejects %j", (config, message) => {
    expect(() => resolveSettings(config, at)).toThrow(SettingsError);
    expect(() => resolveSettings(config, at)).toThrow(message);
  });

  it.each([
    ["visibility_timeout: .inf", "visibility_timeout must be a number of seconds from 0.001 to 43200 (12 hours, the longest SQS visibility timeout), got Infinity"],
    ["visibility_timeout: 43201", "visibility_timeout must be a number of seconds from 0.001 to 43200 (12 hours, the longest SQS visibility timeout), got 43201"],
    ["visibility_timeout: 0", "visibility_timeout must be a number of seconds from 0.001 to 43200 (12 hours, the longest SQS visibility timeout), got 0"],
    ["lease_timeout: .inf", "lease_timeout must be a number of seconds from 0.001 to 2147483 (about 24.8 days, the longest timer Node.js can set), got Infinity"],
    ["lease_timeout: .nan", "lease_timeout must be a number of seconds from 0.001 to 2147483 (about 24.8 days, the longest timer Node.js can set), got NaN"],
    ["lease_timeout: '300'", 'lease_timeout must be a number of seconds from 0.001 to 2147483 (about 24.8 days, the longest timer Node.js can set), got "300"'],
    ['chaos: {"stream.primary": .inf}', "chaos rate for stream.primary must be a number from 0 to 1, got Infinity"],
  ])("refuses %s in a settings file with one line naming the key and its range", (line, message) => {
    const dir = mkdtempSync(path.join(tmpdir(), "switchyard-settings-"));
    writeFileSync(path.join(dir, "s.yaml"), `${line}\n`);
    expect(() => loadSettings({ cwd: dir, file: "s.yaml" })).toThrow(new SettingsError(`${path.join(dir, "s.yaml")}: ${message}`));
  });

  it("accepts the ends of each range", () => {
    const settings = resolveSettings({ visibility_timeout: 43_200, lease_timeout: 2_147_483, chaos: { "stream.primary": 0, "cache.primary": 1 } }, at);
    expect([settings.visibilityTimeoutSeconds, settings.leaseTimeoutSeconds]).toEqual([43_200, 2_147_483]);
    expect(resolveSettings({ visibility_timeout: 0.001, lease_timeout: 0.001 }, at).visibilityTimeoutSeconds).toBe(0.001);
  });

  it("finds switchyard.settings.yaml in the working directory and resolves against its folder", () => {
    const dir = mkdtempSync(path.join(tmpdir(), "switchyard-settings-"));
    writeFileSync(path.join(dir, "switchyard.settings.yaml"), "stream: sqlite:./here.db\n");
    const settings = loadSettings({ cwd: dir });
    expect(settings.file).toBe(path.join(dir, "switchyard.settings.yaml"));
    expect(settings.baseDir).toBe(dir);
    expect(settings.roles.stream.primary).toBe("sqlite:./here.db");
  });

  it("names the file and the problem for unreadable or invalid files", () => {
    const dir = mkdtempSync(path.join(tmpdir(), "switchyard-settings-"));
    expect(() => loadSettings({ cwd: dir, file: "nope.yaml" })).toThrow(/cannot read settings file nope.yaml: ENOENT/);
    writeFileSync(path.join(dir, "bad.json"), "{");
    expect(() => loadSettings({ cwd: dir, file: "bad.json" })).toThrow(/settings file bad.json is not valid JSON/);
  });
});

describe("chaos", () => {
  const port = { uri: "sqlite:x", calls: 0, async send() { this.calls++; return { ok: true }; } };

  it("fails the given fraction of calls with a ChaosError naming the target, without reaching the backend", async () => {
    const values = [0.1, 0.9, 0.5, 0.29];
    const wrapped = withChaos(port, 0.3, "stream.primary (sqlite:x)", () => values.shift() ?? 1);
    const outcomes = await Promise.allSettled([wrapped.send(), wrapped.send(), wrapped.send(), wrapped.send()]);
    expect(outcomes.map((o) => o.status)).toEqual(["rejected", "fulfilled", "fulfilled", "rejected"]);
    const reason = (outcomes[0] as PromiseRejectedResult).reason;
    expect(reason).toBeInstanceOf(ChaosError);
    expect(reason.message).toBe("chaos: injected failure of stream.primary (sqlite:x)");
    expect(port.calls).toBe(2);
    expect(wrapped.uri).toBe("sqlite:x");
  });

  it("leaves a port untouched at rate 0", () => {
    expect(withChaos(port, 0, "x", Math.random)).toBe(port);
  });
});

describe("SWITCHYARD_ENDPOINTS", () => {
  const write = (text: string) => {
    const file = path.join(mkdtempSync(path.join(tmpdir(), "sy-endpoints-")), "s.yaml");
    writeFileSync(file, text);
    return file;
  };
  const withVariable = <T>(value: string, run: () => T): T => {
    const before = process.env.SWITCHYARD_ENDPOINTS;
    process.env.SWITCHYARD_ENDPOINTS = value;
    try {
      return run();
    } finally {
      if (before === undefined) delete process.env.SWITCHYARD_ENDPOINTS;
      else process.env.SWITCHYARD_ENDPOINTS = before;
    }
  };

  it("adds to and replaces the settings file's endpoints (a deployed cluster's URL without a new bundle)", () => {
    const file = write('endpoints: {sqs: "http://localhost:1", "arn:aws:elasticache:us-east-1:1:replicationgroup:o": "redis://old:6379"}\n');
    const settings = withVariable('{"arn:aws:elasticache:us-east-1:1:replicationgroup:o": "redis://new:6379", "dynamodb": "http://localhost:2"}', () => loadSettings({ file }));
    expect(settings.endpoints).toEqual({
      sqs: "http://localhost:1",
      "arn:aws:elasticache:us-east-1:1:replicationgroup:o": "redis://new:6379",
      dynamodb: "http://localhost:2",
    });
  });

  it("refuses a value that is not a JSON object of strings, in one line", () => {
    const file = write("lease_timeout: 300\n");
    expect(() => withVariable("{nope", () => loadSettings({ file }))).toThrow(/^SWITCHYARD_ENDPOINTS is not valid JSON: .*; write \{"ARN or service": "URL"\}$/);
    expect(() => withVariable('{"sqs": 1}', () => loadSettings({ file }))).toThrow("SWITCHYARD_ENDPOINTS: its value must map names to URL strings");
  });
});
